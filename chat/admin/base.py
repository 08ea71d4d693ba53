"""What every chat ModelAdmin shares: writes through the services, rows limited to the person's
channels, permissions from the site (model permissions on /admin/, the rules on /moderation/),
and every action in Django's admin log (LogEntry).
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from chat import policy
from chat.admin.forms import BanForm
from chat.admin.sites import moderates_somewhere
from chat.exceptions import ChatError
from chat.services.access import managed_channels

CHANNEL_CHOICES_SHOWN = 100


def on_moderation_site(model_admin: admin.ModelAdmin) -> bool:
    return not getattr(model_admin.admin_site, "uses_model_permissions", True)


def refusal_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


class ScopedAdmin(admin.ModelAdmin):
    """Rows limited to the channels the person manages (every channel for administrators).

    `channel_field` leads from the model to its channel. On the moderation site a person may do
    what `moderator_permissions` lists; on the main site Django's model permissions decide. Either
    way the service called underneath asks chat/policy.py again, object by object.
    """

    channel_field = "channel"
    moderator_permissions: frozenset[str] = frozenset({"view"})
    # Django's change form and its Save button; False for the read-only pages with actions.
    editable = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = super().get_queryset(request)
        if policy.is_admin(request.user):
            return rows
        return rows.filter(**{f"{self.channel_field}__in": managed_channels(request.user)})

    def may(self, request: HttpRequest, action: str, obj=None) -> bool:
        if on_moderation_site(self):
            allowed = action in self.moderator_permissions and moderates_somewhere(request)
        else:
            codename = get_permission_codename(action, self.opts)
            allowed = request.user.has_perm(f"{self.opts.app_label}.{codename}")
        return allowed and (obj is None or self.get_queryset(request).filter(pk=obj.pk).exists())

    def has_module_permission(self, request: HttpRequest) -> bool:
        if on_moderation_site(self):
            return moderates_somewhere(request)
        return super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.may(request, "view", obj) or self.has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.may(request, "add")

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.editable and self.may(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.may(request, "delete", obj)

    # Actions: one service call per object; refusals are listed, successes logged.

    def run_each(
        self, request: HttpRequest, objects, do: Callable[[object], object], *, done: str, log: str | Callable
    ) -> int:
        changed, refusals = 0, []
        for obj in objects:
            try:
                result = do(obj)
            except (ChatError, PermissionDenied, ValidationError) as error:
                refusals.append(f"{obj}: {refusal_text(error)}")
                continue
            changed += 1
            self.log_change(request, obj, log(obj, result) if callable(log) else log)
        if changed or not refusals:
            self.message_user(request, f"{done}: {changed}.", messages.SUCCESS)
        for refusal in refusals:
            self.message_user(request, refusal, messages.ERROR)
        return changed

    def ban_with_form(
        self, request: HttpRequest, queryset: QuerySet, *, action: str, who: Callable, ban: Callable, log: str
    ) -> TemplateResponse | None:
        """A ban action's two steps: a page asking why and until when, then one ban per object.
        `who(obj)` says whom and where for the page; `ban(obj, reason, expires_at)` calls the service."""
        form = BanForm(request.POST if "apply" in request.POST else None, initial={"reason": ""})
        if form.is_bound and form.is_valid():
            reason, until = form.cleaned_data["reason"], form.cleaned_data["expires_at"]
            self.run_each(request, queryset, lambda obj: ban(obj, reason, until), done="Banned", log=log)
            return None
        request.current_app = self.admin_site.name
        context = {
            **self.admin_site.each_context(request),
            "title": "Ban from the channel",
            "opts": self.opts,
            "form": form,
            "action": action,
            "objects": [(obj.pk, who(obj)) for obj in queryset],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/chat/ban_form.html", context)


class ServiceAdmin(ScopedAdmin):
    """Add and change through `apply_service`; delete through `delete_through_service`.

    The service runs while the form is validated: a refusal then shows as an ordinary form error,
    and ``save_model`` has nothing left to do. Django logs the addition, change or deletion.
    """

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

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Nothing related is edited here."""

    def log_deletions(self, request: HttpRequest, queryset) -> list:
        """Logged object by object below, in the service's transaction, only when the service agreed."""
        return []

    def delete_model(self, request: HttpRequest, obj) -> None:
        self._delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self._delete(request, obj)

    def _delete(self, request: HttpRequest, obj) -> None:
        try:
            with transaction.atomic():
                admin.ModelAdmin.log_deletions(self, request, [obj])
                self.delete_through_service(request, obj)
        except ChatError as error:
            self.message_user(request, f"{obj}: {error}", messages.ERROR)

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id):
        if self.model._default_manager.filter(pk=obj_id).exists():
            # The service refused; its reason is already on the page.
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )
        return super().response_delete(request, obj_display, obj_id)

    def get_deleted_objects(self, objs, request: HttpRequest):
        """The service decides what goes with an object (memberships, seats, files...); the
        confirmation lists the objects themselves, and permission is the service's question."""
        to_delete = [str(obj) for obj in objs]
        return to_delete, {self.opts.verbose_name_plural: len(to_delete)}, set(), []


# List filters that only offer what the person may see


class ChannelFilter(admin.SimpleListFilter):
    """The channels the person manages (the first CHANNEL_CHOICES_SHOWN by name; search finds the rest)."""

    title = "channel"
    parameter_name = "channel"

    def __init__(self, request, params, model, model_admin) -> None:
        self.channel_field = model_admin.channel_field
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        channels = managed_channels(request.user).order_by("name", "pk")[:CHANNEL_CHOICES_SHOWN]
        return [(str(pk), name) for pk, name in channels.values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(**{self.channel_field: int(value)})
        return queryset


class TextFilter(admin.SimpleListFilter):
    """A filter typed in (say, a user name) rather than picked from a list of every value."""

    template = "admin/chat/text_filter.html"
    field_path = ""
    placeholder = ""

    def lookups(self, request, model_admin):
        return ()

    def has_output(self) -> bool:
        return True

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        return queryset.filter(**{self.field_path: value}) if value else queryset

    def choices(self, changelist):
        keep = [(key, value) for key, value in changelist.params.items() if key != self.parameter_name]
        yield {
            "selected": not self.value(),
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "All",
            "keep": keep,
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "placeholder": self.placeholder,
        }


class AuthorFilter(TextFilter):
    title = "author"
    parameter_name = "author"
    field_path = "author__username__iexact"
    placeholder = "User name"
