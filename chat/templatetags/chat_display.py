"""How people and messages look on the chat pages; static/js/people.js does the same for what arrives live.

{% load chat_display %}
{{ user.username|initials }}        "alice" -> "AL", "jean-luc" -> "JL"
avatar-c{{ user.pk|avatar_colour }}  one of AVATAR_COLOURS stable classes (no inline style under the CSP)
{{ m.html|mentions_me:user.username }}  my own @mentions get the class "mention-me"
"""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

AVATAR_COLOURS = 12
WORDS = re.compile(r"[\s._+\-@]+")


@register.filter
def initials(name: str) -> str:
    words = [word for word in WORDS.split(str(name or "")) if word]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


@register.filter
def avatar_colour(user_id) -> int:
    try:
        return int(user_id) % AVATAR_COLOURS
    except (TypeError, ValueError):
        return 0


@register.filter
def mentions_me(html: str, username: str) -> SafeString:
    """The stored, sanitised message html with my own mentions marked (case-insensitively)."""
    if not username:
        return mark_safe(html)  # noqa: S308 - sanitised when stored (chat/rendering.py)
    mine = re.compile(rf'<span class="mention">(@{re.escape(escape(username))})</span>', re.IGNORECASE)
    return mark_safe(mine.sub(r'<span class="mention mention-me">\1</span>', html))  # noqa: S308
