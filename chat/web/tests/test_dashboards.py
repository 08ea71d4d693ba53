"""The dashboards' pages (chat/web/dashboards.py): who sees them, what they show, how many queries."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from chat.exceptions import ChatError
from chat.models import Membership, Privacy, Role
from chat.services import ratelimit
from chat.services.memberships import add_members
from chat.services.messages import send_message
from chat.services.ratelimit import TokenBucket

ROLES = ["administrator", "moderator", "other-moderator", "member", "outsider"]


def send(actor, channel, content):
    return send_message(actor=actor, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()).message


@pytest.fixture
def world(make_user, make_channel, make_administrator, monkeypatch):
    """Knitting (private, moderated by `moderator`) with a member; Chess moderated by `other-moderator`."""
    people = {
        "administrator": make_administrator("administrator"),
        "moderator": make_user("moderator"),
        "other-moderator": make_user("othermod"),
        "member": make_user("member"),
        "outsider": make_user("outsider"),
    }
    knitting = make_channel(people["moderator"], name="Knitting", privacy=Privacy.PRIVATE)
    add_members(actor=people["moderator"], channel=knitting, users=[people["member"]])
    chess = make_channel(people["other-moderator"], name="Chess")
    for text in ("Knitting socks 🧶", "more knitting tonight", "wool 🧶"):
        send(people["member"], knitting, text)
    send(people["other-moderator"], chess, "e4")
    monkeypatch.setattr(ratelimit, "send_rate", lambda: TokenBucket(rate=0.001, burst=0))
    with pytest.raises(ChatError):
        send(people["member"], knitting, "too fast")
    return people, knitting, chess


# Who may open what: the community's page, Knitting's page. A refusal is a 404, as for a missing channel.
CHANNEL_PAGE = {"administrator": 200, "moderator": 200, "other-moderator": 404, "member": 404, "outsider": 404}
COMMUNITY_PAGE = {
    "administrator": "figures",
    "moderator": "list",
    "other-moderator": "list",
    "member": 404,
    "outsider": 404,
}


@pytest.mark.parametrize("role", ROLES)
def test_a_channels_dashboard_is_for_its_moderators_and_the_administrators(client, world, role):
    people, knitting, _ = world
    client.force_login(people[role])
    response = client.get(reverse("chat-channel-dashboard", args=[knitting.pk]))
    assert response.status_code == CHANNEL_PAGE[role]
    if response.status_code == 404:
        assert b"Knitting" not in response.content and b"knitting" not in response.content
    else:
        assert b"Dashboard of Knitting" in response.content


@pytest.mark.parametrize("role", ROLES)
def test_the_community_dashboard_is_for_the_administrators(client, world, role):
    people, knitting, chess = world
    client.force_login(people[role])
    response = client.get(reverse("chat-dashboard"))
    expected = COMMUNITY_PAGE[role]
    if expected == 404:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    text = response.content.decode()
    if expected == "figures":
        assert "Community dashboard" in text
        assert "Pending approvals" in text
    else:
        # A moderator finds the dashboards of their own channels, and no community figures.
        mine, theirs = (knitting, chess) if role == "moderator" else (chess, knitting)
        assert f"Dashboard of {mine.name}" in text
        assert theirs.name not in text
        assert "Community dashboard" not in text


def test_a_missing_channels_dashboard_is_a_404_for_everyone(client, world):
    people, _, _ = world
    client.force_login(people["administrator"])
    assert client.get(reverse("chat-channel-dashboard", args=[999_999])).status_code == 404


def test_signed_out_people_are_sent_to_sign_in(client, world):
    _, knitting, _ = world
    for url in (reverse("chat-dashboard"), reverse("chat-channel-dashboard", args=[knitting.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("accounts-signin") in response["Location"]


def test_the_page_shows_the_figures_with_charts_and_tables(client, world):
    people, knitting, _ = world
    client.force_login(people["moderator"])
    text = client.get(reverse("chat-channel-dashboard", args=[knitting.pk])).content.decode()
    assert text.count('class="chart-svg"') == 2  # messages per hour, per day
    assert text.count('class="chart-svg" viewBox="0 0 640 220" aria-hidden="true"') == 2  # the drawing is hidden
    assert '<table class="visually-hidden">' in text  # each chart's figures, for screen readers
    assert "<caption>Messages per hour, last 24 hours</caption>" in text
    assert '<th scope="row">member</th><td>3</td>' in text  # busiest sender
    assert '<th scope="row">member</th><td>1</td>' in text  # most refused sends
    assert "25.0 %" in text  # 1 refused of 4 sends
    assert "🧶" in text and "knitting" in text
    assert "style=" not in text and "<style" not in text and "<script>" not in text  # the CSP allows neither


@pytest.mark.parametrize(
    ("role", "shown"), [(role, role in ("administrator", "moderator", "other-moderator")) for role in ROLES]
)
def test_the_header_links_to_the_dashboard_for_administrators_and_moderators(client, world, role, shown):
    people, _, _ = world
    client.force_login(people[role])
    text = client.get(reverse("chat-channels")).content.decode()
    assert ('data-testid="dashboard-link"' in text) == shown


@pytest.mark.parametrize(("role", "shown"), [("administrator", True), ("moderator", True), ("member", False)])
def test_the_channel_details_link_to_its_dashboard_for_those_who_may_see_it(client, world, role, shown):
    people, knitting, _ = world
    client.force_login(people[role])
    text = client.get(reverse("chat-channel", args=[knitting.pk])).content.decode()
    assert (reverse("chat-channel-dashboard", args=[knitting.pk]) in text) == shown


def test_a_demoted_moderator_loses_the_page(client, world):
    people, knitting, _ = world
    Membership.objects.filter(channel=knitting, user=people["moderator"]).update(role=Role.MEMBER)
    client.force_login(people["moderator"])
    assert client.get(reverse("chat-channel-dashboard", args=[knitting.pk])).status_code == 404


def test_the_pages_queries_do_not_grow_with_messages(
    client, world, make_channel, django_assert_max_num_queries, monkeypatch
):
    people, knitting, _ = world
    monkeypatch.setattr(ratelimit, "send_rate", lambda: TokenBucket(rate=1000, burst=1000))
    client.force_login(people["administrator"])
    for index in range(6):
        channel = make_channel(people["administrator"], name=f"Room {index}")
        send(people["administrator"], channel, "hello 👋")
    with django_assert_max_num_queries(30) as some:  # the page's own, the session, the sidebar
        assert client.get(reverse("chat-dashboard")).status_code == 200
    for index in range(6, 12):
        channel = make_channel(people["administrator"], name=f"Room {index}")
        for count in range(15):
            send(people["administrator"], channel, f"message {count} 👋")
    with django_assert_max_num_queries(len(some)):
        assert client.get(reverse("chat-dashboard")).status_code == 200
