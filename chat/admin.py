"""Django admin for channels, memberships, bans and sub-channels.

Every write goes through chat.services, so the admin obeys the same rules as the pages. The
service runs while the form is validated: a refusal then shows as an ordinary form error, and
``save_model`` has nothing left to do.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from chat.exceptions import ChatError
from chat.models import ELASTIC_FIELDS, Ban, Channel, Membership, Role, SubChannel
from chat.services import channels as channel_services
from chat.services import memberships as membership_services


class ServiceAdmin(admin.ModelAdmin):
    """Add and change through `apply_service`; delete through `delete_through_service`."""

    def apply_service(self, request: HttpRequest, instance, data: dict, *, adding: bool):
        raise NotImplementedError

    def delete_through_service(self, request: HttpRequest, obj) -> None:
        raise NotImplementedError

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs) -> type[forms.ModelForm]:
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceForm(form_class):
            def clean(self) -> dict:
                cleaned = super().clean()
                if self.errors:
                    return cleaned
                try:
                    # The saved object replaces the form's instance; the admin then logs and redirects to it.
                    self.instance = model_admin.apply_service(request, self.instance, cleaned, adding=obj is None)
                except ChatError as error:
                    raise ValidationError(str(error)) from None
                return cleaned

        return ServiceForm

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        """Nothing to save: the service already wrote it while the form was validated."""

    def delete_model(self, request: HttpRequest, obj) -> None:
        self.delete_through_service(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_through_service(request, obj)


@admin.register(Channel)
class ChannelAdmin(ServiceAdmin):
    list_display = ("name", "privacy", "mode", "channel_type", "is_direct", "created_by", "created_at")
    list_filter = ("privacy", "mode", "channel_type", "is_direct")
    search_fields = ("name", "created_by__username")
    list_select_related = ("created_by",)
    fields = ("name", "privacy", "mode", "channel_type", *ELASTIC_FIELDS)

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


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin):
    list_display = ("user", "channel", "role", "subchannel", "created_at")
    list_filter = ("role", "channel__privacy", "channel__channel_type")
    search_fields = ("user__username", "channel__name")
    list_select_related = ("user", "channel", "subchannel")
    autocomplete_fields = ("user", "channel")
    actions = ["promote_selected", "demote_selected"]

    def get_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return ("user", "channel", "role") if obj is None else ("user", "channel", "subchannel", "role")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return ("user", "channel", "subchannel") if obj is not None else ()

    def apply_service(self, request: HttpRequest, instance: Membership, data: dict, *, adding: bool) -> Membership:
        actor = request.user
        if adding:
            channel, user = data["channel"], data["user"]
            [membership] = membership_services.add_members(actor=actor, channel=channel, users=[user])
            if data["role"] == Role.MODERATOR:
                membership = membership_services.promote_moderator(actor=actor, channel=channel, user=user)
            return membership
        current = Membership.objects.select_related("channel", "user").get(pk=instance.pk)
        return self._set_role(actor, current, data["role"])

    @staticmethod
    def _set_role(actor, membership: Membership, role: str) -> Membership:
        if role == membership.role:
            return membership
        change = (
            membership_services.promote_moderator if role == Role.MODERATOR else membership_services.demote_moderator
        )
        return change(actor=actor, channel=membership.channel, user=membership.user)

    def delete_through_service(self, request: HttpRequest, obj: Membership) -> None:
        if obj.user_id == request.user.pk:
            membership_services.leave_channel(actor=request.user, channel=obj.channel)
        else:
            membership_services.remove_member(actor=request.user, channel=obj.channel, user=obj.user)

    def _each(self, request: HttpRequest, queryset: QuerySet, role: str, done: str) -> None:
        changed, refusals = 0, []
        for membership in queryset.select_related("channel", "user"):
            try:
                if self._set_role(request.user, membership, role).role == role:
                    changed += 1
            except ChatError as error:
                refusals.append(f"{membership}: {error}")
        self.message_user(request, f"{done} {changed} membership(s).", messages.SUCCESS)
        for refusal in refusals:
            self.message_user(request, refusal, messages.ERROR)

    @admin.action(description="Promote selected to moderator")
    def promote_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, Role.MODERATOR, "Promoted")

    @admin.action(description="Demote selected to member")
    def demote_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, Role.MEMBER, "Demoted")


@admin.register(Ban)
class BanAdmin(ServiceAdmin):
    list_display = ("user", "channel", "created_by", "created_at")
    list_filter = ("channel__privacy",)
    search_fields = ("user__username", "channel__name")
    list_select_related = ("user", "channel", "created_by")
    autocomplete_fields = ("user", "channel")
    fields = ("user", "channel")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # A ban is added or lifted, never edited.
        return False

    def apply_service(self, request: HttpRequest, instance: Ban, data: dict, *, adding: bool) -> Ban:
        return membership_services.ban_user(actor=request.user, channel=data["channel"], user=data["user"])

    def delete_through_service(self, request: HttpRequest, obj: Ban) -> None:
        membership_services.unban_user(actor=request.user, channel=obj.channel, user=obj.user)


@admin.register(SubChannel)
class SubChannelAdmin(admin.ModelAdmin):
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
