"""The report queue: for each channel's moderators and the administrators, never for the person a
report is about. Each report shows the message in its context (chat/services/reports.py) and
offers dismiss, delete the message, ban the author, and (administrators) deactivate the account."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from chat import policy
from chat.admin.base import ChannelFilter, ScopedAdmin
from chat.admin.messages import excerpt
from chat.admin.sites import moderation_site
from chat.exceptions import ChatError
from chat.models import Report, ReportStatus
from chat.services import reports as report_services

# The change page's buttons: action name and label, shown when the action is allowed.
REPORT_BUTTONS = (
    ("dismiss_reports", "Dismiss"),
    ("redact_reported_messages", "Delete the message"),
    ("ban_reported_authors", "Ban the author from the channel…"),
    ("deactivate_reported_authors", "Deactivate the author's account"),
)


class StatusFilter(admin.SimpleListFilter):
    """Open reports unless asked otherwise: the queue is what still needs someone."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*ReportStatus.choices, ("all", "All")]

    def queryset(self, request, queryset):
        value = self.value() or ReportStatus.OPEN
        return queryset if value == "all" else queryset.filter(status=value)

    def choices(self, changelist):
        current = self.value() or ReportStatus.OPEN
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class ReportAdmin(ScopedAdmin):
    moderator_permissions = frozenset({"view", "change"})
    editable = False
    list_display = ("created_at", "status", "channel", "reason", "message_text", "reported_user", "reporter")
    list_select_related = ("channel", "message", "reported_user", "reporter")
    list_filter = (StatusFilter, ChannelFilter, "reason")
    search_fields = ("details", "message__content", "reported_user__username", "reporter__username")
    fields = (
        "status",
        "reason",
        "details",
        "reporter",
        "reported_user",
        "channel",
        "created_at",
        "message_link",
        "outcome",
        "handled_by",
        "handled_at",
    )
    readonly_fields = fields
    change_form_template = "admin/chat/report/change_form.html"
    actions = ["dismiss_reports", "redact_reported_messages", "ban_reported_authors", "deactivate_reported_authors"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The service's rule: the person's channels, never a report about the person.
        return report_services.visible_reports(request.user).select_related(*self.list_select_related)

    @admin.display(description="message")
    def message_text(self, obj: Report) -> str:
        return excerpt(obj.message)

    @admin.display(description="message")
    def message_link(self, obj: Report) -> str:
        if obj.message_id is None:
            return "(removed)"
        url = reverse(f"{self.admin_site.name}:chat_message_change", args=[obj.message_id])
        return format_html('<a href="{}">#{}</a>: {}', url, obj.message_id, excerpt(obj.message))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a report is dismissed, not deleted: the log of what was done stays

    def has_handle_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "change")

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return self.has_handle_permission(request) and policy.is_admin(request.user)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        report = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if report is not None:
            try:
                extra["report_context"] = report_services.report_context(actor=request.user, report=report)
            except ChatError:
                extra["report_context"] = []
            allowed = self.get_actions(request)
            extra["report_buttons"] = [(name, label) for name, label in REPORT_BUTTONS if name in allowed]
            extra["changelist_url"] = reverse(f"{self.admin_site.name}:chat_report_changelist")
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @admin.action(description="Dismiss selected reports", permissions=["handle"])
    def dismiss_reports(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_each(
            request,
            queryset,
            lambda report: report_services.dismiss_report(actor=request.user, report_id=report.pk),
            done="Dismissed",
            log="Dismissed.",
        )

    @admin.action(description="Delete the reported messages for everyone", permissions=["handle"])
    def redact_reported_messages(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_each(
            request,
            queryset,
            lambda report: report_services.redact_reported_message(actor=request.user, report_id=report.pk),
            done="Messages deleted",
            log=lambda report, _: f"Deleted (redacted) message #{report.message_id}.",
        )

    @admin.action(description="Ban the authors from the channel…", permissions=["handle"])
    def ban_reported_authors(self, request: HttpRequest, queryset: QuerySet):
        return self.ban_with_form(
            request,
            queryset,
            action="ban_reported_authors",
            who=lambda report: f"{report.reported_user} from {report.channel}",
            ban=lambda report, reason, until: report_services.ban_reported_author(
                actor=request.user, report_id=report.pk, reason=reason, expires_at=until
            ),
            log="Banned the author from the channel.",
        )

    @admin.action(description="Deactivate the authors' accounts (administrators)", permissions=["deactivate"])
    def deactivate_reported_authors(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_each(
            request,
            queryset,
            lambda report: report_services.deactivate_reported_author(actor=request.user, report_id=report.pk),
            done="Accounts deactivated",
            log=lambda report, _: f"Deactivated the account of {report.reported_user}.",
        )


for site in (admin.site, moderation_site):
    site.register(Report, ReportAdmin)
