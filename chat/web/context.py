"""What every page's header needs from the chat (a context processor in settings.TEMPLATES)."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from chat.services.dashboards import has_dashboard


def dashboard_link(request: HttpRequest) -> dict[str, object]:
    """`dashboard_url`: /dashboard/ for administrators and moderators, "" for anyone else; asked (one
    small query for a moderator) only when a template shows it."""
    user = getattr(request, "user", None)

    def url() -> str:
        return reverse("chat-dashboard") if user is not None and has_dashboard(user) else ""

    return {"dashboard_url": SimpleLazyObject(url)}
