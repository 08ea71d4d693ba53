from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from hobbies.accounts import administrators, policy, services
from hobbies.accounts.models import Approval, LoginEvent, OidcIdentity, Profile, User
from hobbies.accounts.roles import ADMINISTRATORS_GROUP


class ApprovalFilter(admin.SimpleListFilter):
    title = "approval"
    parameter_name = "approval"

    def lookups(self, request, model_admin):
        return [
            (Approval.PENDING, "Pending approval"),
            (Approval.REJECTED, "Rejected"),
            (Approval.ACTIVATED, "Approved, awaiting first sign-in"),
            (Approval.ACTIVE, "Active"),
        ]

    def queryset(self, request, queryset):
        return queryset.filter(approval=self.value()) if self.value() else queryset


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("administrator", "Administrators")]

    def queryset(self, request, queryset):
        return queryset.filter(is_administrator=True) if self.value() == "administrator" else queryset


@admin.register(User)
class CommunityUserAdmin(UserAdmin):
    """Superusers edit everything, as Django's UserAdmin allows; community administrators review
    registrations and change whether an account is active, each through hobbies/accounts/services.py."""

    list_display = ("username", "email", "approval", "is_active", "administrator", "date_joined", "last_login")
    list_filter = (ApprovalFilter, RoleFilter, "is_active", "is_staff", "is_superuser")
    actions = [
        "approve_registrations",
        "reject_registrations",
        "deactivate_accounts",
        "reactivate_accounts",
        "make_administrators",
        "revoke_administrators",
    ]
    readonly_fields = ("approval",)
    fieldsets = UserAdmin.fieldsets + (("Approval", {"fields": ("approval",)}),)
    # What a community administrator who is not a superuser sees; only "active" is theirs to change.
    administrator_fieldsets = (
        (None, {"fields": ("username", "email", "first_name", "last_name")}),
        ("Status", {"fields": ("is_active", "approval", "is_staff", "last_login", "date_joined")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        in_group = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=ADMINISTRATORS_GROUP)
        return (
            super()
            .get_queryset(request)
            .annotate(is_administrator=Q(is_active=True) & (Q(is_superuser=True) | Q(is_staff=True) & Exists(in_group)))
        )

    @admin.display(description="administrator", boolean=True, ordering="is_administrator")
    def administrator(self, obj: User) -> bool:
        return obj.is_administrator

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None or request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.administrator_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        if obj is None or request.user.is_superuser:
            return self.readonly_fields
        return ("username", "email", "first_name", "last_name", "approval", "is_staff", "last_login", "date_joined")

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        if obj is None or request.user.is_superuser:
            return super().get_form(request, obj, **kwargs)
        # A plain form: no password field (and its link to setting a password) for administrators.
        form_class = super().get_form(request, obj, **{**kwargs, "form": forms.ModelForm})

        class ActiveStateForm(form_class):
            """The one change open to administrators, made by the service while the form is validated."""

            def clean(self) -> dict:
                cleaned = super().clean()
                if "is_active" in self.changed_data and not self.errors:
                    try:
                        current = User.objects.get(pk=obj.pk)
                        services.set_active(actor=request.user, user=current, active=cleaned["is_active"])
                    except (PermissionDenied, ValidationError) as error:
                        raise ValidationError(_text(error)) from None
                return cleaned

        return ActiveStateForm

    def save_model(self, request: HttpRequest, obj: User, form, change: bool) -> None:
        if change and not request.user.is_superuser:
            return  # set_active already made the change while the form was validated
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        if change and not request.user.is_superuser:
            return
        super().save_related(request, form, formsets, change)

    def user_change_password(self, request: HttpRequest, id, form_url=""):
        # Setting someone's password is taking over their account: superusers only.
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def has_grant_permission(self, request: HttpRequest) -> bool:
        return policy.can_grant_administrator(request.user)

    def _each(self, request: HttpRequest, queryset: QuerySet[User], do, *, done: str, log: str) -> None:
        """One service call per account; refusals listed, changes logged (LogEntry)."""
        changed, refusals = 0, []
        for user in queryset:
            try:
                if not do(user):
                    continue
            except (PermissionDenied, ValidationError) as error:
                refusals.append(f"{user.username}: {_text(error)}")
                continue
            changed += 1
            self.log_change(request, user, log)
        self.message_user(request, f"{done}: {changed}.", messages.SUCCESS)
        for refusal in refusals:
            self.message_user(request, refusal, messages.ERROR)

    @admin.action(description="Approve selected registrations", permissions=["change"])
    def approve_registrations(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        waiting = list(queryset.filter(approval__in=[Approval.PENDING, Approval.REJECTED]))
        count = services.approve_users(actor=request.user, users=waiting)
        for user in waiting:
            self.log_change(request, user, "Approved the registration.")
        self.message_user(request, f"Approved {count} registration(s).", messages.SUCCESS)

    @admin.action(description="Reject selected registrations", permissions=["change"])
    def reject_registrations(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        waiting = list(queryset.filter(approval=Approval.PENDING))
        count = services.reject_users(actor=request.user, users=waiting)
        for user in waiting:
            self.log_change(request, user, "Rejected the registration.")
        self.message_user(request, f"Rejected {count} registration(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected accounts", permissions=["change"])
    def deactivate_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        act = lambda user: services.set_active(actor=request.user, user=user, active=False)  # noqa: E731
        self._each(request, queryset, act, done="Deactivated", log="Deactivated the account.")

    @admin.action(description="Reactivate selected accounts", permissions=["change"])
    def reactivate_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        act = lambda user: services.set_active(actor=request.user, user=user, active=True)  # noqa: E731
        self._each(request, queryset, act, done="Reactivated", log="Reactivated the account.")

    @admin.action(description="Make selected community administrators (superusers)", permissions=["grant"])
    def make_administrators(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        act = lambda user: administrators.make_administrator(actor=request.user, user=user)  # noqa: E731
        self._each(request, queryset, act, done="Made administrators", log="Made a community administrator.")

    @admin.action(description="Remove selected from the administrators (superusers)", permissions=["grant"])
    def revoke_administrators(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        act = lambda user: administrators.revoke_administrator(actor=request.user, user=user)  # noqa: E731
        self._each(request, queryset, act, done="Removed from the administrators", log="No longer an administrator.")


def _text(error: Exception) -> str:
    return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "display_name", "status_text", "created_at")
    search_fields = ("user__username", "display_name")


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    list_display = ("user", "method", "at", "ip_address")
    list_filter = ("method",)
    search_fields = ("user__username", "ip_address")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OidcIdentity)
class OidcIdentityAdmin(admin.ModelAdmin):
    # Created by OIDC sign-ins only; deleting one unlinks the account from its provider identity.
    list_display = ("user", "issuer", "subject", "created_at")
    search_fields = ("user__username", "subject")
    list_select_related = ("user",)
    readonly_fields = ("user", "issuer", "subject", "created_at")

    def has_add_permission(self, request):
        return False
