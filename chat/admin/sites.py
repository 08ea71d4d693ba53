"""The moderation site (/moderation/): Django admin for channel moderators who are not staff.

The main site (/admin/) is for administrators, gated by Django's model permissions (the Community
administrators group, superusers). This one admits anyone active who moderates a channel (and
administrators); every ModelAdmin registered here limits its rows to the channels the person
moderates (chat/admin/base.py), and every change still goes through chat/services, which asks
chat/policy.py, so the rules are the pages' rules.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from chat import policy

_CACHE = "_can_moderate_somewhere"


def moderates_somewhere(request: HttpRequest) -> bool:
    """policy.can_moderate_somewhere, asked once per request (the admin asks on every permission check)."""
    if not hasattr(request, _CACHE):
        setattr(request, _CACHE, policy.can_moderate_somewhere(request.user))
    return getattr(request, _CACHE)


class ModerationSite(AdminSite):
    site_header = "Channel moderation"
    site_title = "Channel moderation"
    index_title = "The channels you moderate"
    site_url = "/channels/"
    # Read by chat/admin/base.py: here the rules, not Django's model permissions, decide.
    uses_model_permissions = False
    enable_nav_sidebar = False
    index_template = "admin/chat/moderation_index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        return moderates_somewhere(request)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """People sign in on the community's own page (password or OIDC), then come back here."""
        index = reverse("moderation:index", current_app=self.name)
        wanted = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
            wanted = index
        if self.has_permission(request):
            return HttpResponseRedirect(wanted)
        if request.user.is_authenticated:
            request.current_app = self.name
            context = {**self.each_context(request), "title": "Not a moderator"}
            return TemplateResponse(request, "admin/chat/not_a_moderator.html", context, status=403)
        return redirect_to_login(wanted, reverse(settings.LOGIN_URL))


moderation_site = ModerationSite(name="moderation")
