"""Who a person is in Chime: their AppInstanceUser, created idempotently, its ARN on their profile.

The AppInstanceUserId is derived from a value that never changes: the OIDC subject when the
person signs in through a provider, else their primary key; within Chime's 1-64 characters and
allowed set. The ClientRequestToken is derived from the same id, and ConflictException (the user
exists) counts as success, so the post-authentication hook, the lazy creation before a first
call and `chime_sync --provision` may all run any number of times.
"""

from __future__ import annotations

import hashlib
import re

from django.contrib.auth import get_user_model

from chat.backends.chime.errors import call
from hobbies.accounts.models import OidcIdentity, Profile

USER_ID = re.compile(r"[A-Za-z0-9]([A-Za-z0-9:_.@-]{0,62}[A-Za-z0-9])?")
PK_PREFIX = "user-"
OIDC_PREFIX = "oidc-"


def app_instance_user_id(user) -> str:
    subject = OidcIdentity.objects.filter(user_id=user.pk).order_by("pk").values_list("subject", flat=True).first()
    if subject is None:
        return f"{PK_PREFIX}{user.pk}"
    candidate = f"{OIDC_PREFIX}{subject}"
    if USER_ID.fullmatch(candidate):
        return candidate
    # A subject with characters Chime refuses, or too long: a digest of it, as stable.
    return OIDC_PREFIX + hashlib.sha256(subject.encode("utf-8")).hexdigest()[:56]


def request_token(user_id: str) -> str:
    """64 characters of [0-9a-f]: within ClientRequestToken's 2-64 of [-_a-zA-Z0-9]."""
    return hashlib.sha256(f"app-instance-user:{user_id}".encode()).hexdigest()


def user_arn(app_instance_arn: str, user_id: str) -> str:
    return f"{app_instance_arn}/user/{user_id}"


def display_name(user) -> str:
    return (user.get_username() or f"{PK_PREFIX}{user.pk}")[:100]


def stored_arn(user) -> str | None:
    cached = getattr(user, "_chime_arn", None)
    if cached:
        return cached
    arn = Profile.objects.filter(user_id=user.pk).values_list("chime_arn", flat=True).first()
    if arn:
        user._chime_arn = arn
    return arn or None


def ensure_user(identity_client, app_instance_arn: str, user) -> str:
    """The person's AppInstanceUser ARN, creating the user in Chime first if needed."""
    if arn := stored_arn(user):
        return arn
    user_id = app_instance_user_id(user)
    response = call(
        identity_client.create_app_instance_user,
        ok=("ConflictException",),
        AppInstanceArn=app_instance_arn,
        AppInstanceUserId=user_id,
        Name=display_name(user),
        ClientRequestToken=request_token(user_id),
    )
    arn = response["AppInstanceUserArn"] if response else user_arn(app_instance_arn, user_id)
    Profile.objects.update_or_create(user_id=user.pk, defaults={"chime_arn": arn})
    user._chime_arn = arn
    return arn


def user_for_arn(app_instance_arn: str, arn: str | None):
    """The person behind an AppInstanceUser ARN, or None (a bot, or someone the app never met)."""
    if not arn:
        return None
    user_model = get_user_model()
    found = user_model.objects.filter(profile__chime_arn=arn).first()
    if found is not None:
        return found
    prefix = f"{app_instance_arn}/user/"
    if not arn.startswith(prefix):
        return None
    user_id = arn[len(prefix) :]
    if user_id.startswith(PK_PREFIX) and user_id[len(PK_PREFIX) :].isdigit():
        return user_model.objects.filter(pk=int(user_id[len(PK_PREFIX) :])).first()
    if user_id.startswith(OIDC_PREFIX):
        identity = OidcIdentity.objects.filter(subject=user_id[len(OIDC_PREFIX) :]).select_related("user").first()
        return identity.user if identity else None
    return None
