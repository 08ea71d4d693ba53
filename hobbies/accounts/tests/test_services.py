import logging
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import RequestFactory

from conftest import PASSWORD
from hobbies.accounts import services
from hobbies.accounts.models import Approval, LoginEvent, Profile, User

CALLS = []


def recording_hook(*, user, request, method):
    CALLS.append((user.username, method))


def failing_hook(*, user, request, method):
    raise RuntimeError("the Chime endpoint is down")


@pytest.mark.django_db
def test_first_registration_becomes_active_administrator():
    registration = services.register_user(username="first", password=PASSWORD)
    user = registration.user
    assert registration.is_founder
    assert (user.is_active, user.is_staff, user.is_superuser, user.approval) == (True, True, True, Approval.ACTIVE)
    assert Profile.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_later_registrations_wait_for_approval(admin_user):
    registration = services.register_user(username="second", password=PASSWORD, email="s@example.com")
    user = User.objects.get(pk=registration.user.pk)
    assert not registration.is_founder
    assert (user.is_active, user.is_staff, user.approval, user.email) == (
        False,
        False,
        Approval.PENDING,
        "s@example.com",
    )


@pytest.mark.django_db
def test_an_account_made_with_createsuperuser_means_no_founder(django_user_model):
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    assert not services.register_user(username="newcomer", password=PASSWORD).is_founder


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["member", "MEMBER", "Member"])
def test_duplicate_names_are_refused_case_insensitively(member, name):
    with pytest.raises(ValidationError) as raised:
        services.register_user(username=name, password=PASSWORD)
    assert "already taken" in str(raised.value.message_dict["username"])
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_weak_password_is_refused_with_reasons_per_field(admin_user):
    with pytest.raises(ValidationError) as raised:
        services.register_user(username="weak", password="weakpass")
    assert set(raised.value.message_dict) == {"password"}
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_first_registrations_make_one_founder():
    barrier = threading.Barrier(2)
    results = []

    def register(name):
        barrier.wait()
        try:
            results.append(services.register_user(username=name, password=PASSWORD).is_founder)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(name,)) for name in ("racer1", "racer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert User.objects.filter(is_superuser=True).count() == 1


@pytest.mark.django_db
def test_approval_activates_and_rejection_refuses(admin_user, make_user):
    first = make_user("p1", approval=Approval.PENDING)
    second = make_user("p2", approval=Approval.PENDING)
    assert services.approve_users(actor=admin_user, users=[first]) == 1
    assert services.reject_users(actor=admin_user, users=[second]) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_active, first.approval) == (True, Approval.ACTIVATED)
    assert (second.is_active, second.approval) == (False, Approval.REJECTED)


@pytest.mark.django_db
def test_a_rejected_registration_can_still_be_approved_later(admin_user, make_user):
    user = make_user("late", approval=Approval.REJECTED)
    assert services.approve_users(actor=admin_user, users=[user]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("action", [services.approve_users, services.reject_users])
def test_only_staff_review_registrations(member, make_user, action):
    pending = make_user("p", approval=Approval.PENDING)
    with pytest.raises(PermissionDenied):
        action(actor=member, users=[pending])
    pending.refresh_from_db()
    assert pending.approval == Approval.PENDING


@pytest.mark.django_db
def test_confirm_activation_is_the_one_step_from_activated_to_active(make_user):
    user = make_user("fresh", approval=Approval.ACTIVATED)
    services.confirm_activation(user=user)
    user.refresh_from_db()
    assert user.approval == Approval.ACTIVE


@pytest.mark.django_db
def test_post_auth_hook_records_event_profile_and_runs_extra_hooks(settings, make_user):
    settings.POST_AUTH_HOOKS = [f"{__name__}.recording_hook"]
    CALLS.clear()
    user = User.objects.create_user("noprofile", password=PASSWORD)
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="pytest-agent")
    event = services.after_sign_in(user=user, request=request, method=LoginEvent.Method.PASSWORD)
    assert (event.ip_address, event.user_agent, event.method) == ("203.0.113.9", "pytest-agent", "password")
    assert Profile.objects.filter(user=user).exists()
    assert CALLS == [("noprofile", "password")]


@pytest.mark.django_db
def test_a_failing_extra_hook_is_logged_and_does_not_block(settings, member, caplog):
    settings.POST_AUTH_HOOKS = [f"{__name__}.failing_hook", f"{__name__}.recording_hook"]
    CALLS.clear()
    with caplog.at_level(logging.ERROR, logger="hobbies.accounts.services"):
        services.after_sign_in(user=member, request=None, method=LoginEvent.Method.OIDC)
    assert "post_auth_hook_failed" in caplog.text
    assert CALLS == [("member", "oidc")]
    assert LoginEvent.objects.filter(user=member, method="oidc").count() == 1


@pytest.mark.parametrize(
    ("backend", "method"),
    [
        ("django.contrib.auth.backends.ModelBackend", "password"),
        ("mozilla_django_oidc.auth.OIDCAuthenticationBackend", "oidc"),
        ("hobbies.accounts.oidc.CommunityOIDCBackend", "oidc"),
        ("", "other"),
    ],
)
def test_sign_in_method_follows_the_backend(backend, method):
    user = User(username="x")
    user.backend = backend
    assert services.sign_in_method(user) == method


# Active state and the first administrator (issue: moderation in Django admin)


@pytest.mark.django_db
def test_set_active_deactivates_and_reactivates(make_user, make_administrator):
    from hobbies.accounts import policy

    administrator, bob = make_administrator("boss"), make_user("bob")
    assert services.set_active(actor=administrator, user=bob, active=False)
    bob.refresh_from_db()
    assert not bob.is_active
    assert not services.set_active(actor=administrator, user=bob, active=False)  # already
    assert services.set_active(actor=administrator, user=bob, active=True)
    with pytest.raises(PermissionDenied):
        services.set_active(actor=bob, user=administrator, active=False)
    pending = make_user("waiting", approval=Approval.PENDING)
    with pytest.raises(ValidationError, match="approve it instead"):
        services.set_active(actor=administrator, user=pending, active=True)
    assert policy.is_administrator(administrator)


@pytest.mark.django_db
def test_create_first_administrator_makes_a_founding_superuser_in_the_group():
    from hobbies.accounts import policy
    from hobbies.accounts.roles import OPERATOR

    user = services.create_first_administrator(actor=OPERATOR, username="chief", password=PASSWORD)
    assert (user.is_superuser, user.is_staff, user.is_founder, user.approval) == (True, True, True, Approval.ACTIVE)
    assert user.in_administrators_group and policy.is_administrator(user)
    assert Profile.objects.filter(user=user).exists()
    # Someone registering later waits for approval, as after a founder.
    assert not services.register_user(username="later", password=PASSWORD).is_founder
    with pytest.raises(ValidationError) as refused:
        services.create_first_administrator(actor=OPERATOR, username="CHIEF", password="short")
    assert set(refused.value.message_dict) == {"username", "password"}


@pytest.mark.django_db
def test_oidc_admin_groups_decide_the_administrators_group_too():
    from hobbies.accounts import policy
    from hobbies.accounts.services import OidcAccount

    def sign_in(groups):
        account = OidcAccount(issuer="https://idp", subject="sub-1", username="alice", groups=frozenset(groups))
        return services.create_or_update_oidc_user(account, require_approval=False, admin_groups=["admins"])

    assert policy.is_administrator(sign_in(["admins"]))
    demoted = sign_in([])
    assert not demoted.is_staff and not policy.is_administrator(User.objects.get(pk=demoted.pk))


@pytest.mark.django_db
def test_plain_accounts_made_before_anyone_registered_do_not_take_the_founders_place(make_user):
    make_user("demo0001")
    make_user("demo0002")
    assert services.register_user(username="first-real", password=PASSWORD).is_founder
    assert not services.register_user(username="second-real", password=PASSWORD).is_founder


@pytest.mark.django_db
def test_people_change_only_their_own_notification_settings(member, outsider):
    profile = services.update_notification_settings(actor=member, user=member, notify_desktop=True, notify_sound=False)
    assert (profile.notify_desktop, profile.notify_sound) == (True, False)
    with pytest.raises(PermissionDenied):
        services.update_notification_settings(actor=outsider, user=member, notify_desktop=False, notify_sound=False)
