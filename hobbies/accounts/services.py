"""Every change to accounts: registration, approval, activation, and the post-authentication hook."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.module_loading import import_string

from hobbies.accounts import policy
from hobbies.accounts.models import Approval, LoginEvent, Profile, User

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


def register_user(*, username: str, password: str, email: str = "") -> Registration:
    """Create an account: the install's first becomes its administrator, later ones wait for approval."""
    check_registration(username=username, password=password, email=email)
    if not User.objects.exists():
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
    log.info("event=rejected actor=%s count=%d", actor.username, changed)
    return changed


def confirm_activation(*, user: User) -> None:
    """The approved user's first sign-in confirms the account; the next one signs in."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk, approval=Approval.ACTIVATED).update(approval=Approval.ACTIVE)
    user.approval = Approval.ACTIVE


def ensure_profile(user: User) -> Profile:
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile


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
    log.info("event=signed_in user=%s method=%s", user.username, method)
    return event
