"""Memberships and bans in the admin: add, remove, promote, demote, ban and lift, each through
chat/services/memberships.py."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from chat.admin.base import ChannelFilter, ServiceAdmin, on_moderation_site
from chat.admin.forms import UsernameField, ends_field
from chat.admin.sites import moderation_site
from chat.models import Ban, Membership, Role
from chat.services import memberships as membership_services
from chat.services.access import managed_channels


class MembershipAddForm(forms.ModelForm):
    user = UsernameField()

    class Meta:
        model = Membership
        fields = ("user", "channel", "role")


class BanAddForm(forms.ModelForm):
    user = UsernameField()
    expires_at = ends_field()

    class Meta:
        model = Ban
        fields = ("user", "channel", "reason", "expires_at")
        widgets = {"reason": forms.Textarea(attrs={"rows": 2})}


class ChannelChoiceMixin:
    """The channel of a new row: one the person manages (administrators search them; a moderator's
    few are a plain list)."""

    def get_autocomplete_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return () if on_moderation_site(self) else ("channel",)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "channel":
            kwargs["queryset"] = managed_channels(request.user).filter(is_direct=False).order_by("name", "pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MembershipAdmin(ChannelChoiceMixin, ServiceAdmin):
    moderator_permissions = frozenset({"view", "add", "change", "delete"})
    list_display = ("user", "channel", "role", "subchannel", "created_at")
    list_filter = (ChannelFilter, "role")
    search_fields = ("user__username", "channel__name")
    list_select_related = ("user", "channel", "subchannel")
    actions = ["promote_selected", "demote_selected", "ban_selected"]

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, change=change, **kwargs)

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

    def _roles(self, request: HttpRequest, queryset: QuerySet, role: str, done: str) -> None:
        self.run_each(
            request,
            queryset.select_related("channel", "user"),
            lambda membership: self._set_role(request.user, membership, role),
            done=done,
            log=[{"changed": {"fields": ["role"]}}],
        )

    @admin.action(description="Promote selected to moderator", permissions=["change"])
    def promote_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._roles(request, queryset, Role.MODERATOR, "Promoted")

    @admin.action(description="Demote selected to member", permissions=["change"])
    def demote_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._roles(request, queryset, Role.MEMBER, "Demoted")

    @admin.action(description="Ban selected from their channel…", permissions=["ban"])
    def ban_selected(self, request: HttpRequest, queryset: QuerySet):
        return self.ban_with_form(
            request,
            queryset.select_related("channel", "user"),
            action="ban_selected",
            who=lambda membership: f"{membership.user.username} from {membership.channel.name}",
            ban=lambda membership, reason, until: membership_services.ban_user(
                actor=request.user, channel=membership.channel, user=membership.user, reason=reason, expires_at=until
            ),
            log="Banned from the channel (the membership went with the ban).",
        )

    def has_ban_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "delete")


class ActiveBanFilter(admin.SimpleListFilter):
    title = "ends"
    parameter_name = "ends"

    def lookups(self, request, model_admin):
        return [("never", "Until lifted"), ("dated", "On a date")]

    def queryset(self, request, queryset):
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        if self.value() == "dated":
            return queryset.filter(expires_at__isnull=False)
        return queryset


class BanAdmin(ChannelChoiceMixin, ServiceAdmin):
    """Bans in force (an ended ban is no longer listed); added or lifted, never edited."""

    moderator_permissions = frozenset({"view", "add", "delete"})
    editable = False
    list_display = ("user", "channel", "reason", "expires_at", "created_by", "created_at")
    list_filter = (ChannelFilter, ActiveBanFilter)
    search_fields = ("user__username", "channel__name", "reason")
    list_select_related = ("user", "channel", "created_by")
    fields = ("user", "channel", "reason", "expires_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).active()

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if obj is None:
            kwargs["form"] = BanAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        return self.fields if obj is not None else ()

    def apply_service(self, request: HttpRequest, instance: Ban, data: dict, *, adding: bool) -> Ban:
        return membership_services.ban_user(
            actor=request.user,
            channel=data["channel"],
            user=data["user"],
            reason=data.get("reason", ""),
            expires_at=data.get("expires_at"),
        )

    def delete_through_service(self, request: HttpRequest, obj: Ban) -> None:
        membership_services.unban_user(actor=request.user, channel=obj.channel, user=obj.user)


for site in (admin.site, moderation_site):
    site.register(Membership, MembershipAdmin)
    site.register(Ban, BanAdmin)
