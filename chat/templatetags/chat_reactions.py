"""Replies and reactions on the chat pages, in the very shape the socket carries them
(chat/services/payloads.py); static/js/reactions.js draws the same for what arrives live.

    {% load chat_reactions %}
    {% with quote=m|reply_quote %}   {"id", "author", "excerpt", "deleted"} or None
    {% for r in m|reactions %}       {"emoji", "count", "users"}
"""

from __future__ import annotations

from django import template

from chat.services.payloads import reaction_summary, reply_ref

register = template.Library()


@register.filter
def reply_quote(message) -> dict | None:
    return reply_ref(message)


@register.filter
def reactions(message) -> list[dict]:
    return reaction_summary(message)


@register.filter
def reacted_by(reaction: dict, username: str) -> bool:
    return username in reaction["users"]
