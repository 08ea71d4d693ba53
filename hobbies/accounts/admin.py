from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from hobbies.accounts import services
from hobbies.accounts.models import Approval, LoginEvent, OidcIdentity, Profile, User


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


@admin.register(User)
class CommunityUserAdmin(UserAdmin):
    list_display = ("username", "email", "approval", "is_staff", "date_joined", "last_login")
    list_filter = (ApprovalFilter, "is_staff", "is_superuser")
    actions = ["approve_registrations", "reject_registrations"]
    readonly_fields = ("approval",)
    fieldsets = UserAdmin.fieldsets + (("Approval", {"fields": ("approval",)}),)

    @admin.action(description="Approve selected registrations")
    def approve_registrations(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = services.approve_users(actor=request.user, users=queryset)
        self.message_user(request, f"Approved {count} registration(s).", messages.SUCCESS)

    @admin.action(description="Reject selected registrations")
    def reject_registrations(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = services.reject_users(actor=request.user, users=queryset)
        self.message_user(request, f"Rejected {count} registration(s).", messages.SUCCESS)


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
