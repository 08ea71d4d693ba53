"""The dashboards: /dashboard/ (administrators; moderators find their channels' there) and
/channels/<id>/dashboard/ (that channel's moderators and the administrators). Anyone else gets a
404, as for a missing channel. The figures come from chat/services/dashboards.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chat.services import dashboards
from chat.web.charts import bar_chart


def _context(figures: dashboards.Figures) -> dict:
    by_hour = [(f"{hour:%H}:00–{hour:%H}:59", f"{hour:%H}h", count) for hour, count in figures.by_hour]
    by_day = [(f"{day:%a %d %b}", f"{day:%d}", count) for day, count in figures.by_day]
    current = figures.by_hour[-1][0] if figures.by_hour else figures.now
    return {
        "figures": figures,
        "channel": figures.channel,
        "charts": {
            "by_hour": bar_chart(
                "by-hour", "Messages per hour, last 24 hours", by_hour, unit="messages", period="Hour", label_every=3
            ),
            "by_day": bar_chart(
                "by-day", "Messages per day, last 30 days", by_day, unit="messages", period="Day", label_every=5
            ),
        },
        "periods": [(f"Since {current:%H}:00", figures.this_hour), ("Last 24 hours", figures.last_day)],
    }


@login_required
@require_GET
def community_dashboard(request: HttpRequest) -> HttpResponse:
    home = dashboards.dashboard_home(actor=request.user)
    if isinstance(home, dashboards.Figures):
        return render(request, "chat/dashboard.html", _context(home))
    return render(request, "chat/dashboard_index.html", {"channels": home})


@login_required
@require_GET
def channel_dashboard(request: HttpRequest, channel_id: int) -> HttpResponse:
    figures = dashboards.channel_figures(actor=request.user, channel_id=channel_id)
    return render(request, "chat/dashboard.html", _context(figures))
