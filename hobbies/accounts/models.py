from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.functional import cached_property

from hobbies.accounts.roles import ADMINISTRATORS_GROUP


class Approval(models.TextChoices):
    # PENDING -> (admin approves) -> ACTIVATED -> (first sign-in confirms) -> ACTIVE
    PENDING = "pending", "Pending approval"
    REJECTED = "rejected", "Rejected"
    ACTIVATED = "activated", "Approved, awaiting first sign-in"
    ACTIVE = "active", "Active"


class UserQuerySet(models.QuerySet):
    def pending(self) -> "UserQuerySet":
        return self.filter(approval=Approval.PENDING)

    def by_username(self, username: str) -> "UserQuerySet":
        return self.filter(username__iexact=username)

    def administrators(self) -> "UserQuerySet":
        """Active superusers, and active staff in the Community administrators group."""
        return (
            self.filter(is_active=True)
            .filter(models.Q(is_superuser=True) | models.Q(is_staff=True, groups__name=ADMINISTRATORS_GROUP))
            .distinct()
        )


class CommunityUserManager(UserManager.from_queryset(UserQuerySet)):
    def get_by_natural_key(self, username: str) -> "User":
        # User names are unique case-insensitively, so "Alice" signs in as "alice".
        return self.get(username__iexact=username)


class User(AbstractUser):
    approval = models.CharField(max_length=16, choices=Approval.choices, default=Approval.ACTIVE)
    # The first account of an install becomes its administrator; the partial unique constraint
    # below makes that decision race-free even when two people register at the same instant.
    is_founder = models.BooleanField(default=False, editable=False)

    objects = CommunityUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(
                fields=["is_founder"], condition=models.Q(is_founder=True), name="accounts_user_one_founder"
            ),
        ]

    @property
    def is_community_administrator(self) -> bool:
        """The administrator role (hobbies.accounts.policy.is_administrator asks this): a superuser,
        or staff in the Community administrators group. One query at most per user object."""
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        if not self.is_staff:
            return False
        return self.in_administrators_group

    @cached_property
    def in_administrators_group(self) -> bool:
        return self.groups.filter(name=ADMINISTRATORS_GROUP).exists()


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=150, blank=True)
    status_text = models.CharField(max_length=140, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # MESSAGING_BACKEND=chime: this person's AppInstanceUser, the bearer of their Chime calls.
    chime_arn = models.CharField(max_length=1600, null=True, blank=True, unique=True, editable=False)
    # Their own choice (Settings): a browser notification for @mentions and direct messages while
    # the tab is hidden, and a sound with it (static/js/notify.js).
    notify_desktop = models.BooleanField("browser notifications", default=False)
    notify_sound = models.BooleanField("notification sound", default=False)

    def __str__(self) -> str:
        return self.display_name or self.user.username


class LoginEvent(models.Model):
    class Method(models.TextChoices):
        PASSWORD = "password", "Password"
        OIDC = "oidc", "OpenID Connect"
        OTHER = "other", "Other"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    method = models.CharField(max_length=16, choices=Method.choices)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user} {self.method} {self.at:%Y-%m-%d %H:%M}"


class OidcIdentity(models.Model):
    """Who an OpenID Connect account is: the provider's issuer plus its subject, stable across renames."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "OIDC identity"
        verbose_name_plural = "OIDC identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="accounts_oidcidentity_issuer_subject_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.issuer} {self.subject})"
