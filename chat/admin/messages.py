"""Messages (search, filter by channel, author and date, edit history, redact, remove entirely)
and their attachments in the admin. Read-only pages: every change is an action calling
chat/services/messages.py."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat, truncatechars
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from chat.admin.base import AuthorFilter, ChannelFilter, ScopedAdmin, on_moderation_site
from chat.admin.sites import moderates_somewhere, moderation_site
from chat.exceptions import ChatError
from chat.models import Attachment, AttachmentState, Message, MessageRevision
from chat.services import messages as message_services

EXCERPT = 80


def excerpt(message: Message | None) -> str:
    if message is None:
        return "(removed)"
    if message.redacted_at is not None:
        return "(Deleted)"
    return truncatechars(message.content, EXCERPT)


class RedactedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("no", "Shown"), ("yes", "Deleted (redacted)")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(redacted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(redacted_at__isnull=False)
        return queryset


class RevisionInline(admin.TabularInline):
    """The edit history: each earlier text, oldest first (a redaction removes it with the text)."""

    model = MessageRevision
    fields = ("replaced_at", "content")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "earlier text"
    verbose_name_plural = "Edit history"

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        # The message itself is in the person's channels: MessageAdmin's queryset decided.
        if on_moderation_site(self):
            return moderates_somewhere(request)
        return request.user.has_perm("chat.view_messagerevision")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MessageAdmin(ScopedAdmin):
    moderator_permissions = frozenset({"view", "change"})
    editable = False
    list_display = ("created_at", "channel", "author", "text", "edited_at", "redacted_at")
    list_select_related = ("channel", "author")
    list_filter = (ChannelFilter, AuthorFilter, ("created_at", admin.DateFieldListFilter), RedactedFilter)
    search_fields = ("content", "author__username")
    fields = ("channel", "stream", "seq", "author", "created_at", "edited_at", "redacted_at", "content", "files")
    readonly_fields = fields
    inlines = [RevisionInline]
    actions = ["redact_selected", "remove_selected"]

    @admin.display(description="text")
    def text(self, obj: Message) -> str:
        return excerpt(obj)

    @admin.display(description="attachments")
    def files(self, obj: Message) -> str:
        rows = obj.attachments.all()
        return format_html_join(", ", '<a href="{}">{}</a> ({})', ((_download(a), a.name, a.state) for a in rows))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # "Remove entirely" below goes through the service

    def has_redact_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "change")

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "delete")

    @admin.action(description="Delete selected messages for everyone (“(Deleted)”)", permissions=["redact"])
    def redact_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.run_each(
            request,
            queryset,
            lambda message: message_services.redact_message(actor=request.user, message_id=message.pk),
            done="Deleted (redacted)",
            log="Redacted: the text, its edit history and its attachments are gone.",
        )

    @admin.action(description="Remove selected messages entirely (administrators)", permissions=["remove"])
    def remove_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        removed, refusals = 0, []
        for message in queryset:
            try:
                with transaction.atomic():
                    LogEntry.objects.log_actions(user_id=request.user.pk, queryset=[message], action_flag=DELETION)
                    message_services.delete_message(actor=request.user, message_id=message.pk)
            except ChatError as error:
                refusals.append(f"{message}: {error}")
            else:
                removed += 1
        self.message_user(request, f"Removed entirely: {removed}.")
        for refusal in refusals:
            self.message_user(request, refusal, level="error")


def _download(attachment: Attachment) -> str:
    return reverse("chat-attachment-download", args=[attachment.pk])


class AttachmentAdmin(ScopedAdmin):
    """The files of messages in the person's channels (uploads, hidden ones of deleted messages)."""

    editable = False
    list_display = ("name", "content_type", "size_shown", "state", "channel", "message_link", "uploader", "created_at")
    list_filter = (ChannelFilter, "state")
    search_fields = ("name", "uploader__username")
    list_select_related = ("channel", "uploader")
    fields = ("name", "content_type", "size_shown", "state", "channel", "message_link", "uploader", "created_at")
    readonly_fields = fields

    @admin.display(description="size", ordering="size")
    def size_shown(self, obj: Attachment) -> str:
        return filesizeformat(obj.size)

    @admin.display(description="message")
    def message_link(self, obj: Attachment) -> str:
        if obj.message_id is None:
            return "–"
        url = reverse(f"{self.admin_site.name}:chat_message_change", args=[obj.message_id])
        download = format_html(' · <a href="{}">download</a>', _download(obj))
        return format_html(
            '<a href="{}">#{}</a>{}', url, obj.message_id, download if obj.state == AttachmentState.ATTACHED else ""
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


for site in (admin.site, moderation_site):
    site.register(Message, MessageAdmin)
    site.register(Attachment, AttachmentAdmin)
