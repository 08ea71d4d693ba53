"""The sidebar of the signed-in pages (templates/chat/_sidebar.html), as a context processor.

Lazy: its queries run only when a template uses `sidebar` (base.html does for signed-in people; the
admin's pages never do). `current_channel` is the channel the page is about, highlighted there;
`presence_idle_seconds` tells the page's script when its tab counts as idle (PRESENCE_IDLE_SECONDS).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from chat.services.sidebar import Sidebar, sidebar_for


def sidebar_of(request: HttpRequest) -> Sidebar:
    """The request's sidebar, read once (a page that needs the same counts reuses it)."""
    if not hasattr(request, "_chat_sidebar"):
        request._chat_sidebar = sidebar_for(request.user)
    return request._chat_sidebar


def sidebar(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    current = match.kwargs.get("channel_id") if match is not None else None
    return {
        "sidebar": SimpleLazyObject(lambda: sidebar_of(request)),
        "current_channel": current,
        "presence_idle_seconds": settings.PRESENCE_IDLE_SECONDS,
    }
