"""Every change to accounts: registration, approval, activation, OIDC sign-up, and the post-authentication hook.

The administrator role's changes are in hobbies/accounts/administrators.py."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.module_loading import import_string

from hobbies import metrics
from hobbies.accounts import administrators, lifecycle, policy
from hobbies.accounts.models import Approval, LoginEvent, OidcIdentity, Profile, User

log = logging.getLogger(__name__)

DUPLICATE_USERNAME_MESSAGE = "That user name is already taken. Choose another one."


@dataclass(frozen=True)
class Registration:
    user: User
    is_founder: bool


def check_registration(*, username: str, password: str, email: str = "") -> None:
    """Raise a ValidationError keyed by field for every reason this registration cannot go ahead."""
    errors: dict[str, list[ValidationError]] = {}
    if User.objects.by_username(username).exists():
        errors["username"] = [ValidationError(DUPLICATE_USERNAME_MESSAGE, code="duplicate_username")]
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as error:
        errors["password"] = error.error_list
    if errors:
        raise ValidationError(errors)


def has_administrator() -> bool:
    """Whether the install has (or had) someone to approve registrations: a founder, a superuser or
    staff, active or not. Demo users (manage.py seed_demo) and other plain accounts do not count."""
    return User.objects.filter(Q(is_founder=True) | Q(is_superuser=True) | Q(is_staff=True)).exists()


def register_user(*, username: str, password: str, email: str = "") -> Registration:
    """Create an account: the first to register while the install has no administrator becomes it
    (demo users do not count), later ones wait for approval."""
    check_registration(username=username, password=password, email=email)
    if not has_administrator():
        try:
            return _register_founder(username=username, password=password, email=email)
        except IntegrityError:
            # Someone else became the founder a moment ago (or took the name): register as usual.
            pass
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username,
                password=password,
                email=email,
                is_active=False,
                approval=Approval.PENDING,
            )
            Profile.objects.create(user=user)
    except IntegrityError:
        # Lost a race for the same name against another registration.
        raise ValidationError({"username": DUPLICATE_USERNAME_MESSAGE}, code="duplicate_username") from None
    log.info("event=registered user=%s approval=pending", user.username)
    return Registration(user=user, is_founder=False)


def _register_founder(*, username: str, password: str, email: str) -> Registration:
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            password=password,
            email=email,
            is_active=True,
            is_staff=True,
            is_superuser=True,
            is_founder=True,
            approval=Approval.ACTIVE,
        )
        Profile.objects.create(user=user)
    log.info("event=registered user=%s approval=founder", user.username)
    return Registration(user=user, is_founder=True)


def approve_users(*, actor: User, users: Iterable[User]) -> int:
    """Activate pending (or rejected) registrations; returns how many changed."""
    if not policy.can_review_registrations(actor):
        raise PermissionDenied("Only administrators approve registrations.")
    ids = [user.pk for user in users]
    with transaction.atomic():
        changed = User.objects.filter(pk__in=ids, approval__in=[Approval.PENDING, Approval.REJECTED]).update(
            is_active=True, approval=Approval.ACTIVATED
        )
    log.info("event=approved actor=%s count=%d", actor.username, changed)
    return changed


def reject_users(*, actor: User, users: Iterable[User]) -> int:
    """Refuse pending registrations: the account stays inactive and its owner is told on sign-in."""
    if not policy.can_review_registrations(actor):
        raise PermissionDenied("Only administrators reject registrations.")
    ids = [user.pk for user in users]
    with transaction.atomic():
        changed = User.objects.filter(pk__in=ids, approval=Approval.PENDING).update(
            is_active=False, approval=Approval.REJECTED
        )
        lifecycle.revoke_on_commit(ids)  # open sockets close (chat/realtime/sessions.py)
    log.info("event=rejected actor=%s count=%d", actor.username, changed)
    return changed


def set_active(*, actor: User, user: User, active: bool) -> bool:
    """Deactivate an account (it can no longer sign in) or reactivate it; True when it changed."""
    if not policy.can_change_active_state(actor, user):
        raise PermissionDenied(f"You cannot change whether {user.username} is active.")
    if active and user.approval in (Approval.PENDING, Approval.REJECTED):
        raise ValidationError(f"{user.username} is a registration waiting for review: approve it instead.")
    if user.is_active == active:
        return False
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active)
        if not active:
            lifecycle.revoke_on_commit([user.pk])  # open sockets close (chat/realtime/sessions.py)
    user.is_active = active
    log.info("event=%s actor=%s user=%s", "activated" if active else "deactivated", actor.username, user.username)
    return True


def create_first_administrator(*, actor, username: str, password: str, email: str = "") -> User:
    """The install's first administrator, from manage.py setup: a superuser in the group, like a
    founder who registered first. ValidationError (by field) for a taken name or a weak password."""
    if not policy.can_grant_administrator(actor):
        raise PermissionDenied("Only superusers create administrators.")
    check_registration(username=username, password=password, email=email)
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            password=password,
            email=email,
            is_active=True,
            is_staff=True,
            is_superuser=True,
            is_founder=not User.objects.filter(is_founder=True).exists(),
            approval=Approval.ACTIVE,
        )
        Profile.objects.create(user=user)
        user.groups.add(administrators.group())
    log.info("event=registered user=%s approval=administrator actor=%s", user.username, actor.username)
    return user


def confirm_activation(*, user: User) -> None:
    """The approved user's first sign-in confirms the account; the next one signs in."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk, approval=Approval.ACTIVATED).update(approval=Approval.ACTIVE)
    user.approval = Approval.ACTIVE


def ensure_profile(user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


def update_notification_settings(*, actor: User, user: User, notify_desktop: bool, notify_sound: bool) -> Profile:
    """A person's own notification choices (browser notifications for mentions and direct messages
    while the tab is hidden, and a sound with them)."""
    if actor.pk != user.pk:
        raise PermissionDenied("People change their own notification settings.")
    profile = ensure_profile(user)
    profile.notify_desktop, profile.notify_sound = notify_desktop, notify_sound
    profile.save(update_fields=["notify_desktop", "notify_sound"])
    log.info("event=notification_settings user=%s desktop=%s sound=%s", user.username, notify_desktop, notify_sound)
    return profile


@dataclass(frozen=True)
class OidcAccount:
    """What an OpenID Connect sign-in tells us about an account, already mapped from the provider's claims."""

    issuer: str
    subject: str
    username: str  # sanitised wish; made unique when the account is created
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    groups: frozenset[str] = field(default_factory=frozenset)


def available_username(wish: str) -> str:
    """The wished-for user name, or the first free "wish2", "wish3", ... (case-insensitively)."""
    wish = wish[:140]
    taken = {
        name.lower() for name in User.objects.filter(username__istartswith=wish).values_list("username", flat=True)
    }
    if wish.lower() not in taken:
        return wish
    return next(f"{wish}{n}" for n in range(2, len(taken) + 3) if f"{wish}{n}".lower() not in taken)


def create_or_update_oidc_user(
    account: OidcAccount, *, require_approval: bool, admin_groups: Iterable[str] = ()
) -> User:
    """Find the account by its stable identity (issuer + subject) or create it; refresh what the provider owns.

    The user name is chosen once: a rename at the provider keeps the same account and name here.
    When admin_groups is set, membership decides staff status on every sign-in, and admins skip
    the approval queue (someone has to be able to approve the others).
    """
    admin_groups = frozenset(admin_groups)
    is_admin = bool(account.groups & admin_groups) if admin_groups else None
    identity = (
        OidcIdentity.objects.select_related("user").filter(issuer=account.issuer, subject=account.subject).first()
    )
    if identity is None:
        return _create_oidc_user(account, pending=require_approval and not is_admin, is_admin=bool(is_admin))
    user = identity.user
    changed = {"email": account.email, "first_name": account.first_name, "last_name": account.last_name}
    if is_admin is not None and not user.is_superuser:
        changed["is_staff"] = is_admin
        administrators.sync_group(user, is_admin)
    if user.approval == Approval.ACTIVATED:
        # Approved by an administrator: signing in with the provider is the confirmation.
        changed["approval"] = Approval.ACTIVE
    if is_admin and user.approval in (Approval.PENDING, Approval.REJECTED):
        changed.update(approval=Approval.ACTIVE, is_active=True)
    changed = {name: value for name, value in changed.items() if getattr(user, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(user, name, value)
        user.save(update_fields=list(changed))
        log.info("event=oidc_user_updated user=%s fields=%s", user.username, ",".join(sorted(changed)))
    return user


def _create_oidc_user(account: OidcAccount, *, pending: bool, is_admin: bool) -> User:
    for _attempt in range(3):
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=available_username(account.username),
                    email=account.email,
                    first_name=account.first_name,
                    last_name=account.last_name,
                    is_active=not pending,
                    is_staff=is_admin,
                    approval=Approval.PENDING if pending else Approval.ACTIVE,
                )  # no password given: an unusable one, so this account signs in through its provider only
                Profile.objects.create(user=user, display_name=account.display_name[:150])
                OidcIdentity.objects.create(user=user, issuer=account.issuer, subject=account.subject)
                administrators.sync_group(user, is_admin)
        except IntegrityError:
            # Lost a race: for the same user name (pick again) or the same identity (use it).
            existing = OidcIdentity.objects.select_related("user").filter(
                issuer=account.issuer, subject=account.subject
            )
            if identity := existing.first():
                return identity.user
            continue
        log.info("event=registered user=%s method=oidc approval=%s", user.username, user.approval)
        return user
    raise IntegrityError(f"could not find a free user name for {account.username!r}")


def client_ip(request: HttpRequest | None) -> str | None:
    # daphne --proxy-headers rewrites REMOTE_ADDR from X-Forwarded-For behind a trusted proxy.
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def sign_in_method(user: User) -> str:
    backend = getattr(user, "backend", "") or ""
    if "oidc" in backend.lower():
        return LoginEvent.Method.OIDC
    if backend.endswith("ModelBackend"):
        return LoginEvent.Method.PASSWORD
    return LoginEvent.Method.OTHER


def after_sign_in(*, user: User, request: HttpRequest | None, method: str) -> LoginEvent:
    """The post-authentication hook: runs once for every successful sign-in, whatever the method."""
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:512] if request is not None else ""
    event = LoginEvent.objects.create(user=user, ip_address=client_ip(request), user_agent=user_agent, method=method)
    ensure_profile(user)
    for path in settings.POST_AUTH_HOOKS:
        try:
            import_string(path)(user=user, request=request, method=method)
        except Exception:
            # An extra hook (say, creating the Chime user) must never block a sign-in.
            log.exception("event=post_auth_hook_failed hook=%s user=%s", path, user.username)
    metrics.signed_in(method)
    log.info("event=signed_in user=%s method=%s", user.username, method)
    return event
