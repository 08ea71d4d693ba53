"""manage.py seed_demo: counts, idempotency, elastic, password hashing."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from chat.management.commands.seed_demo import DEMO_PASSWORD
from chat.models import Channel, ChannelType, Membership, Privacy, SubChannel
from hobbies.accounts.models import Profile, User


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def membership_counts() -> dict[str, int]:
    return {channel.name: channel.memberships.count() for channel in Channel.objects.all()}


@pytest.mark.django_db
def test_seed_demo_creates_users_and_channels_and_prints_the_password():
    output = seed("--users", "12")
    assert f"Demo password: {DEMO_PASSWORD}" in output
    assert "Demo users: 12 (12 new)" in output
    assert User.objects.filter(username__startswith="demo").count() == 12
    assert Profile.objects.count() == 12
    assert membership_counts() == {"Demo private": 10, "Demo public": 12}
    assert Channel.objects.get(name="Demo private").privacy == Privacy.PRIVATE
    assert User.objects.get(username="demo0007").check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_grows():
    seed("--users", "5", "--elastic")
    before = (User.objects.count(), Membership.objects.count(), Channel.objects.count())
    assert "(0 new)" in seed("--users", "5", "--elastic")
    assert (User.objects.count(), Membership.objects.count(), Channel.objects.count()) == before
    seed("--users", "8", "--elastic")
    assert membership_counts() == {"Demo elastic": 8, "Demo private": 8, "Demo public": 8}


@pytest.mark.django_db
def test_seed_demo_elastic_places_everyone_within_capacity():
    seed("--users", "250", "--elastic", "--fast-passwords")
    channel = Channel.objects.get(name="Demo elastic")
    assert channel.channel_type == ChannelType.ELASTIC and channel.capacity >= 250
    seats = list(SubChannel.objects.filter(channel=channel).values_list("member_count", flat=True))
    assert seats == [100, 100, 49]  # the owner moderates without taking a seat
    assert all(count <= channel.target_memberships_per_subchannel for count in seats)


@pytest.mark.django_db
def test_fast_passwords_still_sign_in(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    seed("--users", "2", "--fast-passwords")
    assert User.objects.get(username="demo0001").password.startswith("pbkdf2_sha256$1000$")
    assert User.objects.get(username="demo0002").check_password(DEMO_PASSWORD)


@pytest.mark.django_db
def test_five_thousand_users_in_well_under_a_minute():
    started = time.monotonic()
    seed("--users", "5000", "--elastic", "--fast-passwords")
    assert time.monotonic() - started < 60
    assert User.objects.count() == 5000
    assert membership_counts()["Demo elastic"] == 5000


@pytest.mark.django_db
def test_sessions_sign_every_demo_user_in_for_load_tests(tmp_path, client):
    path = tmp_path / "sessions.json"
    assert "Sessions of 3 demo users written" in seed("--users", "3", "--sessions", str(path))
    seeded = json.loads(path.read_text())
    assert seeded["channels"] == {
        "public": Channel.objects.get(name="Demo public").pk,
        "private": Channel.objects.get(name="Demo private").pk,
        "elastic": None,
    }
    assert sorted(seeded["sessions"]) == ["demo0001", "demo0002", "demo0003"]
    client.cookies["sessionid"] = seeded["sessions"]["demo0002"]
    response = client.get(reverse("chat-channels"))
    assert response.status_code == 200
    assert response.context["user"].username == "demo0002"


@pytest.mark.django_db
def test_too_few_users_is_refused():
    with pytest.raises(CommandError):
        seed("--users", "1")


@pytest.mark.django_db
@pytest.mark.parametrize("channel_name", ["Demo public", "Demo private", "Demo elastic"])
def test_a_demo_user_banned_from_a_seeded_channel_is_skipped_and_named(channel_name):
    from chat.services.memberships import ban_user

    seed("--users", "6", "--elastic")
    channel = Channel.objects.get(name=channel_name)
    owner, banned = User.objects.get(username="demo0001"), User.objects.get(username="demo0003")
    ban_user(actor=owner, channel=channel, user=banned)
    before = membership_counts()
    output = seed("--users", "8", "--elastic")  # grows: two newcomers everywhere, the ban stays
    assert f"“{channel_name}”: skipped 1 demo user banned there: demo0003." in output
    assert not Membership.objects.filter(channel=channel, user=banned).exists()
    grown = {name: count + 2 for name, count in before.items()}
    assert membership_counts() == grown
    again = seed("--users", "8", "--elastic")  # and again: nothing changes, the skip is said again
    assert "demo0003" in again and "(0 new)" in again
    assert membership_counts() == grown


@pytest.mark.django_db
def test_a_deactivated_demo_user_is_skipped_and_named():
    seed("--users", "3")
    User.objects.create(username="demo0004", is_active=False)  # deactivated before it was ever seated
    output = seed("--users", "5")
    assert "“Demo public”: skipped 1 inactive demo user: demo0004." in output
    assert membership_counts() == {"Demo private": 4, "Demo public": 4}


@pytest.mark.django_db
def test_a_refusal_that_cannot_be_skipped_is_a_clear_command_error():
    from chat.models import Role

    seed("--users", "3")
    Membership.objects.filter(channel__name="Demo public", user__username="demo0001").update(role=Role.MEMBER)
    with pytest.raises(CommandError, match="“Demo public”: In a restricted channel only moderators"):
        seed("--users", "4")
    assert User.objects.filter(username="demo0004").count() == 0  # nothing half-done


@pytest.mark.django_db
def test_demo_users_leave_the_first_account_rule_to_the_first_real_person():
    from hobbies.accounts.services import register_user

    output = seed("--users", "3")
    assert "No administrator yet: the first person to register on the web becomes the administrator" in output
    registration = register_user(username="founder", password="Hobby#Pass1")
    assert registration.is_founder and registration.user.is_superuser
    assert "No administrator yet" not in seed("--users", "3")
