"""chat/services/dashboards.py: the figures, who may read them, and a query count that does not grow."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.exceptions import ChannelNotFound, ChatError
from chat.models import ChannelHour, Privacy
from chat.services import activity, dashboards, ratelimit, rollup
from chat.services.memberships import add_members
from chat.services.messages import send_message
from chat.services.ratelimit import TokenBucket
from hobbies.accounts.models import Approval
from hobbies.metrics import latency, names


def send(actor, channel, content="hello"):
    return send_message(actor=actor, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()).message


@pytest.fixture
def community(make_user, make_channel, admin_user):
    mod, ann, bob = make_user("mod"), make_user("ann"), make_user("bob")
    knitting = make_channel(mod, name="Knitting", privacy=Privacy.PRIVATE)
    add_members(actor=mod, channel=knitting, users=[ann, bob])
    chess = make_channel(admin_user, name="Chess")
    for text in ("I love knitting socks 🧶", "knitting again 🧶👍", "Knitting wool socks"):
        send(ann, knitting, text)
    send(bob, knitting, "hello knitters")
    send(bob, chess, "e4 🙂")
    return {"admin": admin_user, "mod": mod, "ann": ann, "bob": bob, "knitting": knitting, "chess": chess}


def test_the_community_figures(community, make_user, monkeypatch):
    make_user("newbie", approval=Approval.PENDING)
    community["mod"].last_login = timezone.now()  # signed in, sent nothing
    community["mod"].save(update_fields=["last_login"])
    monkeypatch.setattr(ratelimit, "send_rate", lambda: TokenBucket(rate=0.001, burst=0))
    with pytest.raises(ChatError):
        send(community["bob"], community["knitting"])
    figures = dashboards.community_figures(actor=community["admin"])
    assert figures.channel is None
    assert figures.by_hour[-1][1] == 5 and len(figures.by_hour) == 24
    assert figures.by_day[-1][1] == 5 and len(figures.by_day) == 30
    assert figures.active == {"day": 3, "week": 3, "month": 3}  # ann, bob sent; mod signed in
    assert figures.registrations["pending"] == 1
    assert figures.registrations["week"] >= 5
    assert [(channel.name, count) for channel, count in figures.top_by_messages] == [("Knitting", 4), ("Chess", 1)]
    assert [(channel.name, count) for channel, count in figures.top_by_members] == [("Knitting", 2), ("Chess", 1)]
    assert figures.busiest == [("ann", 3), ("bob", 2)]
    assert figures.refused == [("bob", 1)]
    assert figures.this_hour.messages == 5 and figures.this_hour.errors == 1
    assert figures.this_hour.error_rate == pytest.approx(100 / 6)
    [(_, knitting_trends), (_, chess_trends)] = figures.trends
    assert knitting_trends.keywords[:2] == [("knitting", 3), ("socks", 2)]
    assert knitting_trends.emoji[0] == ("🧶", 2)
    assert chess_trends.emoji == [("🙂", 1)]


def test_latency_percentiles_come_from_the_rollup(community):
    hour = activity.hour_of(timezone.now())
    buckets = latency.empty(names.LATENCY_BOUNDS)
    for value in [0.004] * 98 + [0.6] * 2:
        latency.record(buckets, names.LATENCY_BOUNDS, value)
    rollup.add_deliveries({(community["knitting"].pk, hour): buckets})
    figures = dashboards.channel_figures(actor=community["mod"], channel_id=community["knitting"].pk)
    assert figures.last_day.deliveries == 100
    assert figures.last_day.p50_ms < 5
    assert 500 < figures.last_day.p99_ms <= 600
    chess = dashboards.channel_figures(actor=community["admin"], channel_id=community["chess"].pk)
    assert chess.last_day.p99_ms is None


def test_a_channels_figures_are_its_own(community):
    figures = dashboards.channel_figures(actor=community["mod"], channel_id=community["knitting"].pk)
    assert figures.channel == community["knitting"]
    assert figures.by_hour[-1][1] == 4
    assert figures.active["day"] == 2
    assert figures.busiest == [("ann", 3), ("bob", 1)]
    assert figures.top_by_messages == [] and figures.registrations == {}
    assert [channel for channel, _ in figures.trends] == [community["knitting"]]


def test_older_hours_and_days_fall_in_their_place(community):
    long_ago = activity.hour_of(timezone.now() - timedelta(days=3))
    ChannelHour.objects.create(channel=community["chess"], hour=long_ago, messages=9)
    figures = dashboards.community_figures(actor=community["admin"])
    assert dict(figures.by_day)[long_ago.date()] == 9
    assert sum(count for _, count in figures.by_hour) == 5  # not in the last 24 hours


@pytest.mark.parametrize("who", ["mod", "ann", "bob"])
def test_only_administrators_read_the_community_figures(community, who):
    with pytest.raises(ChannelNotFound):
        dashboards.community_figures(actor=community[who])


@pytest.mark.parametrize(("who", "allowed"), [("admin", True), ("mod", True), ("ann", False), ("bob", False)])
def test_a_channels_figures_are_for_its_moderators_and_the_administrators(community, make_user, who, allowed):
    if allowed:
        assert dashboards.channel_figures(actor=community[who], channel_id=community["knitting"].pk)
    else:
        with pytest.raises(ChannelNotFound):
            dashboards.channel_figures(actor=community[who], channel_id=community["knitting"].pk)


def test_moderators_are_offered_their_channels(community):
    assert dashboards.dashboard_home(actor=community["mod"]) == [community["knitting"]]
    assert isinstance(dashboards.dashboard_home(actor=community["admin"]), dashboards.Figures)
    with pytest.raises(ChannelNotFound):
        dashboards.dashboard_home(actor=community["ann"])
    assert [dashboards.has_dashboard(community[who]) for who in ("admin", "mod", "ann")] == [True, True, False]


def test_active_users_for_prometheus_are_cached(community, django_assert_max_num_queries):
    dashboards._active_cache["at"] = 0.0
    assert dashboards.active_users_by_window() == {("day",): 2, ("month",): 2}
    with django_assert_max_num_queries(0):
        dashboards.active_users_by_window()


def grow(community, make_user, make_channel, channels: int, messages: int) -> None:
    start = len(community.setdefault("grown", []))
    people = [make_user(f"person{start + index}") for index in range(4)]
    for index in range(start, start + channels):
        channel = make_channel(community["admin"], name=f"Room {index}")
        community["grown"].append(channel)
        for count in range(messages):
            send(people[count % len(people)], channel, f"message {count} about chess openings 🎲")


def test_the_query_count_does_not_grow_with_the_data(community, make_user, make_channel, django_assert_max_num_queries):
    grow(community, make_user, make_channel, channels=6, messages=4)
    with django_assert_max_num_queries(17) as some:  # at most TREND_CHANNELS of them read messages
        dashboards.community_figures(actor=community["admin"])
    grow(community, make_user, make_channel, channels=10, messages=20)
    with django_assert_max_num_queries(len(some)):
        figures = dashboards.community_figures(actor=community["admin"])
    assert len(figures.trends) == dashboards.TREND_CHANNELS
    assert sum(count for _, count in figures.by_hour) == 5 + 6 * 4 + 10 * 20
    with django_assert_max_num_queries(12):
        dashboards.channel_figures(actor=community["mod"], channel_id=community["knitting"].pk)
