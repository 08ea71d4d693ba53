"""chat/services/activity.py: sends, refusals and deliveries counted in the metrics and the rollup."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from chat.backends.base import BackendUnavailable
from chat.exceptions import ChannelNotFound, ChatError, InvalidRequest
from chat.models import Ban, ChannelHour, ChannelUserDay, Message, PersonActivity, Privacy
from chat.services import activity, ratelimit
from chat.services import messages as message_services
from chat.services.ratelimit import TokenBucket


def counter(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def send(actor, channel, content="hello", **extra):
    return message_services.send_message(
        actor=actor, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4(), **extra
    ).message


def hour_row(channel) -> ChannelHour:
    return ChannelHour.objects.get(channel=channel, hour=activity.hour_of(timezone.now()))


def day_row(channel, user) -> ChannelUserDay:
    return ChannelUserDay.objects.get(channel=channel, user=user, day=activity.hour_of(timezone.now()).date())


def test_a_stored_message_adds_to_its_hour_and_its_authors_day(room, django_capture_on_commit_callbacks, caplog):
    channel, mod, ann = room
    published = counter("hobbies_messages_published_total")
    with (
        caplog.at_level(logging.INFO, logger="chat.services.activity"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = send(ann, channel)
        send(ann, channel, "again")
        send(mod, channel, "welcome")
    row = hour_row(channel)
    assert (row.messages, row.senders, row.errors) == (3, 2, 0)
    assert day_row(channel, ann).messages == 2
    assert day_row(channel, ann).last_sent_at is not None
    assert counter("hobbies_messages_published_total") - published == 3
    assert f"event=message_sent user=ann user_id={ann.pk} channel={channel.pk}" in caplog.text
    assert f"message_id={message.pk}" in caplog.text


def test_a_retried_send_is_not_counted_twice(room):
    channel, _, ann = room
    client_msg_id = uuid.uuid4()
    for _ in range(2):
        message_services.send_message(actor=ann, channel_id=channel.pk, content="once", client_msg_id=client_msg_id)
    assert hour_row(channel).messages == 1


def test_a_send_that_rolls_back_leaves_no_count(room, monkeypatch):
    channel, _, ann = room

    def broken(**kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(message_services.search_index, "index_message", lambda *a, **k: broken())
    errors = counter("hobbies_message_errors_total", code="server_error")
    with pytest.raises(RuntimeError):
        send(ann, channel)
    assert not Message.objects.exists()
    assert hour_row(channel).messages == 0  # the row holds the failure, not the message
    assert hour_row(channel).errors == 1
    assert counter("hobbies_message_errors_total", code="server_error") - errors == 1


def rate_limited(monkeypatch):
    monkeypatch.setattr(ratelimit, "send_rate", lambda: TokenBucket(rate=0.001, burst=0))


def banned(world):
    channel, mod, ann = world
    Ban.objects.create(channel=channel, user=ann)


REFUSALS = [
    pytest.param("empty", {"content": "   "}, None, id="empty"),
    pytest.param("content_too_long", {"content": "x" * 5000}, None, id="too-long"),
    pytest.param("rate_limited", {}, "rate", id="rate-limited"),
    pytest.param("banned", {}, "ban", id="banned"),
    pytest.param("slow_mode", {}, "slow", id="slow-mode"),
]


@pytest.mark.parametrize(("code", "fields", "setup"), REFUSALS)
def test_each_refusal_is_counted_by_its_protocol_code(room, monkeypatch, code, fields, setup):
    channel, mod, ann = room
    if setup == "rate":
        rate_limited(monkeypatch)
    elif setup == "ban":
        banned(room)
    elif setup == "slow":
        channel.slow_mode_seconds = 60
        channel.save()
        send(ann, channel, "first")
    before = counter("hobbies_message_errors_total", code=code)
    with pytest.raises(ChatError) as refused:
        send(ann, channel, **{"content": "hi", **fields})
    assert activity.refusal_code(refused.value) == code
    assert counter("hobbies_message_errors_total", code=code) - before == 1
    assert hour_row(channel).errors == 1
    assert day_row(channel, ann).refused == 1


def test_a_channel_that_is_not_there_is_counted_but_written_nowhere(room, make_user):
    _, _, ann = room
    before = counter("hobbies_message_errors_total", code="not_found")
    with pytest.raises(ChannelNotFound):
        message_services.send_message(actor=ann, channel_id=999_999, content="hi", client_msg_id=uuid.uuid4())
    assert counter("hobbies_message_errors_total", code="not_found") - before == 1
    assert not ChannelHour.objects.filter(errors__gt=0).exists()


def test_a_refused_edit_counts_in_its_messages_channel(room):
    channel, mod, ann = room
    message = send(mod, channel)
    before = counter("hobbies_message_errors_total", code="forbidden")
    with pytest.raises(ChatError):
        message_services.edit_message(actor=ann, message_id=message.pk, content="mine now")
    assert counter("hobbies_message_errors_total", code="forbidden") - before == 1
    assert day_row(channel, ann).refused == 1


def test_refusals_are_written_together_later(room, monkeypatch, caplog):
    channel, _, ann = room
    monkeypatch.setattr(activity, "FLUSH_SECONDS", 3600)
    rate_limited(monkeypatch)
    for _ in range(5):
        with pytest.raises(ChatError):
            send(ann, channel)
    assert not ChannelHour.objects.filter(errors__gt=0).exists()  # nothing written per refusal
    if activity._timer is not None:
        activity._timer.cancel()
    with caplog.at_level(logging.INFO, logger="chat.services.activity"):
        assert activity.flush() == 5
    assert hour_row(channel).errors == 5
    assert day_row(channel, ann).refused == 5
    assert (
        f"event=message_refused user=ann user_id={ann.pk} channel={channel.pk} code=rate_limited count=5" in caplog.text
    )
    assert activity.flush() == 0


def test_sends_reach_the_rollup_together_after_their_commit(room, monkeypatch, django_capture_on_commit_callbacks):
    channel, mod, ann = room
    monkeypatch.setattr(activity, "FLUSH_SECONDS", 3600)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            send(ann, channel)
        send(mod, channel)
    assert not ChannelHour.objects.filter(messages__gt=0).exists()  # the send path wrote nothing more
    if activity._timer is not None:
        activity._timer.cancel()
    assert activity.flush() == 4
    assert (hour_row(channel).messages, hour_row(channel).senders) == (4, 2)
    with django_capture_on_commit_callbacks(execute=True):
        send(ann, channel)  # ann already counted as a sender this hour
    activity._timer.cancel()
    activity.flush()
    assert (hour_row(channel).messages, hour_row(channel).senders) == (5, 2)
    assert day_row(channel, ann).messages == 4
    assert PersonActivity.objects.get(user=ann).last_sent_at == day_row(channel, ann).last_sent_at


def test_a_send_that_never_commits_is_never_counted(room, monkeypatch):
    channel, _, ann = room
    monkeypatch.setattr(activity, "FLUSH_SECONDS", 3600)
    send(ann, channel)  # the test's transaction is rolled back, never committed
    assert activity.flush() == 0


def test_protocol_codes_of_the_domain_errors():
    assert activity.refusal_code(ChannelNotFound()) == "not_found"
    assert activity.refusal_code(InvalidRequest("That message does not exist.")) == "not_found"
    assert activity.refusal_code(InvalidRequest("No.")) == "invalid"
    assert activity.refusal_code(message_services.Banned()) == "banned"
    assert activity.refusal_code(BackendUnavailable()) == "unavailable"  # the client may retry


def test_private_channels_count_like_any_other(make_user, make_channel):
    owner = make_user("owner")
    channel = make_channel(owner, name="Secret", privacy=Privacy.PRIVATE)
    send(owner, channel)
    assert hour_row(channel).messages == 1
