"""chat/services/rollup.py: delivery latency into the rollup, and the rollup rebuilt from the messages."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.exceptions import ChatError
from chat.models import ChannelHour, ChannelUserDay, Message, PersonActivity
from chat.services import activity, ratelimit, rollup
from chat.services import messages as message_services
from chat.services.ratelimit import TokenBucket
from hobbies.metrics import latency, names


def send(actor, channel, content="hello"):
    return message_services.send_message(
        actor=actor, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()
    )


def hour_row(channel) -> ChannelHour:
    return ChannelHour.objects.get(channel=channel, hour=activity.hour_of(timezone.now()))


def day_row(channel, user) -> ChannelUserDay:
    return ChannelUserDay.objects.get(channel=channel, user=user, day=activity.hour_of(timezone.now()).date())


def rate_limited(monkeypatch):
    monkeypatch.setattr(ratelimit, "send_rate", lambda: TokenBucket(rate=0.001, burst=0))


def test_deliveries_add_to_their_channels_hour(room):
    channel, _, _ = room
    hour = activity.hour_of(timezone.now())
    first, second = latency.empty(names.LATENCY_BOUNDS), latency.empty(names.LATENCY_BOUNDS)
    for value in (0.004, 0.03):
        latency.record(first, names.LATENCY_BOUNDS, value)
    latency.record(second, names.LATENCY_BOUNDS, 2.0)
    rollup.add_deliveries({(channel.pk, hour): first, (123_456, hour): first})  # an unknown channel is skipped
    rollup.add_deliveries({(channel.pk, hour): second})
    row = hour_row(channel)
    assert row.deliveries == 3
    assert latency.count(row.latency) == 3
    assert row.latency[-1] == 2.0
    assert ChannelHour.objects.count() == 1


def test_rebuild_recomputes_messages_and_senders_and_keeps_refusals(room, make_user, monkeypatch):
    channel, mod, ann = room
    for _ in range(3):
        send(ann, channel)
    send(mod, channel)
    rate_limited(monkeypatch)
    with pytest.raises(ChatError):
        send(ann, channel)
    earlier = timezone.now() - timedelta(days=2)
    Message.objects.filter(pk=Message.objects.first().pk).update(created_at=earlier)  # an imported message
    ChannelHour.objects.update(messages=0, senders=0)
    ChannelUserDay.objects.update(messages=40)
    counts = rollup.rebuild()
    assert counts == {"hours": 2, "user_days": 3}
    now_row = hour_row(channel)
    assert (now_row.messages, now_row.senders, now_row.errors) == (3, 2, 1)
    old_row = ChannelHour.objects.get(channel=channel, hour=activity.hour_of(earlier))
    assert (old_row.messages, old_row.senders) == (1, 1)
    assert day_row(channel, ann).messages == 2
    assert day_row(channel, ann).refused == 1
    assert sum(ChannelUserDay.objects.values_list("messages", flat=True)) == 4
    PersonActivity.objects.all().delete()
    rollup.rebuild()
    assert set(PersonActivity.objects.values_list("user_id", flat=True)) == {ann.pk, mod.pk}


def test_rebuilding_the_last_days_leaves_older_rows(room):
    channel, _, ann = room
    send(ann, channel)
    old = ChannelHour.objects.create(
        channel=channel, hour=activity.hour_of(timezone.now() - timedelta(days=40)), messages=7
    )
    rollup.rebuild(days=3)
    old.refresh_from_db()
    assert old.messages == 7
    assert hour_row(channel).messages == 1
