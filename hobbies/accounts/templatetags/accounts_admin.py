"""Template tags of the admin's header (templates/admin/base_site.html)."""

from django import template
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from hobbies.accounts import policy
from hobbies.accounts.models import User

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_approvals(context) -> str:
    """For administrators: how many registrations wait, linking to the user list filtered on them."""
    user = context.get("user")
    if user is None or not policy.can_review_registrations(user):
        return ""
    count = User.objects.pending().count()
    url = reverse("admin:accounts_user_changelist", current_app=admin.site.name) + "?approval=pending"
    label = f"{count} pending approval{'' if count == 1 else 's'}"
    return format_html('<a class="pending-approvals" href="{}" data-testid="pending-approvals">{}</a>', url, label)


@register.filter
def change_url_on(entry, site_name: str) -> str:
    """A log entry's object on the given admin site (LogEntry.get_admin_url always names /admin/)."""
    if not (entry.content_type_id and entry.object_id and site_name):
        return ""
    name = f"{site_name}:{entry.content_type.app_label}_{entry.content_type.model}_change"
    try:
        return reverse(name, args=[quote(entry.object_id)], current_app=site_name)
    except NoReverseMatch:
        return ""
