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
