"""Channels and sub-channels in the admin: administrators see every channel, moderators theirs."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from chat.admin.base import ScopedAdmin, ServiceAdmin
from chat.admin.sites import moderation_site
from chat.models import ELASTIC_FIELDS, Channel, ReportStatus, SubChannel
from chat.services import channels as channel_services

# The pages of one channel's moderation, as changelists filtered by ?channel=<id>.
CHANNEL_PAGES = (
    ("membership", "Members"),
    ("ban", "Bans"),
    ("message", "Messages"),
    ("attachment", "Attachments"),
    ("report", "Reports"),
)


class ChannelAdmin(ServiceAdmin):
    channel_field = "pk"
    moderator_permissions = frozenset({"view", "change"})
    list_display = ("name", "privacy", "mode", "channel_type", "is_direct", "open_reports", "pages", "created_at")
    list_filter = ("privacy", "mode", "channel_type", "is_direct")
    search_fields = ("name", "created_by__username")
    list_select_related = ("created_by",)
    fields = ("name", "privacy", "mode", "channel_type", *ELASTIC_FIELDS)

    def get_queryset(self, request: HttpRequest):
        # One aggregate in the list query: open reports the person may see (never those about them).
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_report_count=Count(
                    "reports",
                    filter=Q(reports__status=ReportStatus.OPEN) & ~Q(reports__reported_user=request.user.pk),
                )
            )
        )

    @admin.display(description="open reports", ordering="open_report_count")
    def open_reports(self, obj: Channel) -> int:
        return obj.open_report_count

    @admin.display(description="moderation")
    def pages(self, obj: Channel) -> str:
        site = self.admin_site.name
        return format_html_join(
            " · ",
            '<a href="{}?channel={}">{}</a>',
            ((reverse(f"{site}:chat_{model}_changelist"), obj.pk, label) for model, label in CHANNEL_PAGES),
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        # Privacy, type and elastic settings are fixed at creation.
        return ("privacy", "channel_type", *ELASTIC_FIELDS) if obj is not None else ()

    def apply_service(self, request: HttpRequest, instance: Channel, data: dict, *, adding: bool) -> Channel:
        if adding:
            return channel_services.create_channel(
                actor=request.user,
                **{field: data.get(field) for field in ("name", "privacy", "mode", "channel_type")},
                **{field: data.get(field) for field in ELASTIC_FIELDS},
            )
        current = Channel.objects.get(pk=instance.pk)
        return channel_services.update_channel(
            actor=request.user, channel=current, name=data["name"], mode=data.get("mode")
        )

    def delete_through_service(self, request: HttpRequest, obj: Channel) -> None:
        channel_services.delete_channel(actor=request.user, channel=obj)


class SubChannelAdmin(ScopedAdmin):
    """Read-only: balancing alone opens, fills and merges sub-channels."""

    list_display = ("channel", "number", "member_count", "is_open", "merged_into")
    list_filter = ("is_open",)
    search_fields = ("channel__name",)
    list_select_related = ("channel", "merged_into")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


admin.site.register(Channel, ChannelAdmin)
admin.site.register(SubChannel, SubChannelAdmin)
moderation_site.register(Channel, ChannelAdmin)
