"""chat/backends/chime/identity.py: AppInstanceUser ids from a stable value, idempotent creation,
the ARN on the profile, the post-authentication hook, and finding a person from an ARN."""

from __future__ import annotations

import re

import pytest

from chat.backends.chime import identity
from hobbies.accounts.models import OidcIdentity
from hobbies.accounts.services import after_sign_in
from tests.rig.chime import APP_INSTANCE_ARN

TOKEN = re.compile(r"[-_a-zA-Z0-9]{2,64}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (None, "user-{pk}"),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", "oidc-0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("auth0|5f7c8ec7c33c6c004bbafe82", "oidc-" + "{digest}"),
        ("x" * 80, "oidc-" + "{digest}"),
    ],
)
def test_ids_come_from_the_oidc_subject_or_the_primary_key_within_chimes_rules(make_user, subject, expected):
    user = make_user("ann")
    if subject is not None:
        OidcIdentity.objects.create(user=user, issuer="https://id.example.org", subject=subject)
    user_id = identity.app_instance_user_id(user)
    assert identity.USER_ID.fullmatch(user_id)
    assert len(user_id) <= 64
    if "{digest}" in expected:
        assert re.fullmatch(r"oidc-[0-9a-f]{56}", user_id)
    else:
        assert user_id == expected.format(pk=user.pk)
    assert identity.app_instance_user_id(user) == user_id  # stable
    assert TOKEN.fullmatch(identity.request_token(user_id))


@pytest.mark.django_db
def test_creation_is_idempotent_and_the_arn_is_kept(chime, make_user):
    ann = make_user("ann")
    user_id = f"user-{ann.pk}"
    chime.identity.add_response(
        "create_app_instance_user",
        {"AppInstanceUserArn": f"{APP_INSTANCE_ARN}/user/{user_id}"},
        {
            "AppInstanceArn": APP_INSTANCE_ARN,
            "AppInstanceUserId": user_id,
            "Name": "ann",
            "ClientRequestToken": identity.request_token(user_id),
        },
    )
    arn = chime.backend.ensure_user(ann)
    assert arn == f"{APP_INSTANCE_ARN}/user/{user_id}"
    ann.profile.refresh_from_db()
    assert ann.profile.chime_arn == arn
    # Known now: no second call (the stub has none queued).
    assert chime.backend.ensure_user(type(ann).objects.get(pk=ann.pk)) == arn


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [("ConflictException", 409, "created"), ("ThrottledClientException", 429, "unavailable")],
)
def test_an_existing_user_counts_as_created(chime, make_user, code, status, outcome):
    from chat.backends.base import BackendUnavailable

    ann = make_user("ann")
    chime.identity.add_client_error("create_app_instance_user", code, "no", status)
    if outcome == "created":
        assert chime.backend.ensure_user(ann) == f"{APP_INSTANCE_ARN}/user/user-{ann.pk}"
    else:
        with pytest.raises(BackendUnavailable):
            chime.backend.ensure_user(ann)
        ann.profile.refresh_from_db()
        assert ann.profile.chime_arn is None


@pytest.mark.django_db
def test_the_sign_in_hook_creates_the_user_and_a_failure_never_blocks_sign_in(chime, make_user, settings):
    settings.POST_AUTH_HOOKS = ["chat.backends.ensure_messaging_user"]
    ann, bob = make_user("ann"), make_user("bob")
    chime.identity.add_response("create_app_instance_user", {"AppInstanceUserArn": f"{APP_INSTANCE_ARN}/user/x"})
    after_sign_in(user=ann, request=None, method="password")
    chime.identity.add_client_error("create_app_instance_user", "ServiceFailureException", "down", 500)
    after_sign_in(user=bob, request=None, method="password")
    ann.profile.refresh_from_db()
    bob.profile.refresh_from_db()
    assert (ann.profile.chime_arn, bob.profile.chime_arn) == (f"{APP_INSTANCE_ARN}/user/x", None)


@pytest.mark.django_db
def test_arns_lead_back_to_people(make_user):
    ann, bob, cid = make_user("ann"), make_user("bob"), make_user("cid")
    ann.profile.chime_arn = f"{APP_INSTANCE_ARN}/user/custom"
    ann.profile.save()
    OidcIdentity.objects.create(user=cid, issuer="https://id.example.org", subject="abc-123")
    found = {
        arn: identity.user_for_arn(APP_INSTANCE_ARN, arn)
        for arn in [
            f"{APP_INSTANCE_ARN}/user/custom",
            f"{APP_INSTANCE_ARN}/user/user-{bob.pk}",
            f"{APP_INSTANCE_ARN}/user/oidc-abc-123",
            f"{APP_INSTANCE_ARN}/user/bot-7",
            "arn:aws:chime:us-east-1:999999999999:app-instance/other/user/user-1",
            None,
        ]
    }
    assert list(found.values()) == [ann, bob, cid, None, None, None]
