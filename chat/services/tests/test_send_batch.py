"""Group commit (chat/services/send_batch.py, messages.send_messages): several people's sends in one
transaction, each checked and stored on its own, published after the one commit."""

import uuid

import pytest
from django.db import connection

from chat import events
from chat.exceptions import ChannelNotFound
from chat.models import Message, ReadMarker, StreamEvent
from chat.services import messages as service
from chat.services import search_index
from chat.services.memberships import add_members, ban_user
from chat.services.send_batch import SendRequest

pytestmark = pytest.mark.django_db


def request(user, channel, content="hello", **kwargs):
    kwargs.setdefault("client_msg_id", uuid.uuid4())
    return SendRequest(actor=user, channel_id=channel.pk, content=content, **kwargs)


@pytest.fixture
def crowd(room, make_user):
    """The room with eight more members: ten people who may send."""
    channel, mod, ann = room
    others = [make_user(f"member{index}") for index in range(8)]
    add_members(actor=mod, channel=channel, users=others)
    return channel, [mod, ann, *others]


def stored_seqs(channel):
    return list(StreamEvent.objects.filter(stream_id=str(channel.pk)).order_by("seq").values_list("seq", flat=True))


def test_one_batch_stores_every_senders_message_and_publishes_after_its_one_commit(
    crowd, monkeypatch, django_capture_on_commit_callbacks
):
    channel, people = crowd
    published = []
    monkeypatch.setattr(events, "send_group", lambda group, handler, frame: published.append(frame))
    batch = [request(person, channel, f"from {person.username}") for person in people]
    with django_capture_on_commit_callbacks() as callbacks:
        outcomes = service.send_messages(batch)
        assert published == []  # nothing announced before the commit
    assert [outcome.error for outcome in outcomes] == [None] * len(people)
    assert all(outcome.result.created for outcome in outcomes)
    seqs = [outcome.result.message.seq for outcome in outcomes]
    assert seqs == list(range(seqs[0], seqs[0] + len(people)))
    assert stored_seqs(channel) == list(range(1, seqs[-1] + 1))  # gap-free
    for callback in callbacks:
        callback()
    assert [frame["seq"] for frame in published if frame["type"] == "message.created"] == seqs
    # The ack carries the message exactly as the event does, built once.
    by_seq = {frame["seq"]: frame["message"] for frame in published if frame["type"] == "message.created"}
    assert all(by_seq[outcome.result.message.seq] == outcome.result.payload for outcome in outcomes)
    # Each sender has read what they sent.
    markers = dict(ReadMarker.objects.filter(stream_id=str(channel.pk)).values_list("user_id", "last_read_seq"))
    assert all(markers[outcome.result.message.author_id] == outcome.result.message.seq for outcome in outcomes)


def test_a_refused_send_gets_its_own_error_and_the_others_of_its_batch_commit(crowd, outsider, make_channel):
    channel, people = crowd
    mod, ann, banned = people[0], people[1], people[2]
    public = make_channel(mod, name="Open")
    ban_user(actor=mod, channel=public, user=banned)
    before = stored_seqs(channel)
    batch = [
        request(ann, channel, "first"),
        request(outsider, channel, "not a member of a private channel"),
        request(banned, public, "banned from a public channel"),
        request(ann, channel, "   "),
        request(outsider, public, "joins the public channel by sending"),
        request(mod, channel, "second"),
    ]
    outcomes = service.send_messages(batch)
    errors = [type(outcome.error) for outcome in outcomes]
    assert errors == [type(None), ChannelNotFound, service.Banned, service.EmptyMessage, type(None), type(None)]
    assert list(Message.objects.filter(channel=channel).order_by("seq").values_list("content", flat=True)) == [
        "first",
        "second",
    ]
    assert stored_seqs(channel) == list(range(1, len(before) + 3))
    assert outcomes[4].result.message.channel_id == public.pk


def test_a_send_that_fails_after_taking_its_seq_rolls_back_alone_and_leaves_no_gap(crowd, monkeypatch):
    channel, people = crowd
    index_new_messages = search_index.index_new_messages

    def flaky(rows):
        if any(content == "doomed" for _, content in rows):
            raise RuntimeError("the disk is full")
        index_new_messages(rows)

    # The batch's one index statement fails; stored again one savepoint per send, only "doomed" fails.
    monkeypatch.setattr(search_index, "index_new_messages", flaky)
    outcomes = service.send_messages([request(people[0], channel, "kept"), request(people[1], channel, "doomed")])
    outcomes += service.send_messages([request(people[2], channel, "after")])
    assert isinstance(outcomes[1].error, RuntimeError)
    kept, after = outcomes[0].result.message, outcomes[2].result.message
    assert after.seq == kept.seq + 1  # the doomed send's seq went back with it
    assert list(Message.objects.order_by("seq").values_list("content", flat=True)) == ["kept", "after"]
    assert stored_seqs(channel) == list(range(1, after.seq + 1))


def test_a_duplicate_committed_meanwhile_fails_the_bulk_insert_and_the_batch_is_stored_send_by_send(
    crowd, monkeypatch, django_capture_on_commit_callbacks
):
    channel, people = crowd
    mod, ann, other = people[0], people[1], people[2]
    stored = service.send_messages([request(ann, channel, "stored by another process")])[0].result.message
    # As if the other process committed it after this batch looked for earlier sends.
    monkeypatch.setattr(service, "earlier_sends", lambda requests: {})
    published = []
    monkeypatch.setattr(events, "send_group", lambda group, handler, frame: published.append(frame))
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = service.send_messages(
            [
                request(mod, channel, "before"),
                request(ann, channel, "the retry", client_msg_id=stored.client_msg_id),
                request(other, channel, "after"),
            ]
        )
    assert [outcome.error for outcome in outcomes] == [None, None, None]
    assert [outcome.result.created for outcome in outcomes] == [True, False, True]
    assert outcomes[1].result.message.pk == stored.pk
    seqs = [outcomes[0].result.message.seq, outcomes[2].result.message.seq]
    assert seqs == [stored.seq + 1, stored.seq + 2]
    assert stored_seqs(channel) == list(range(1, seqs[-1] + 1))  # gap-free
    assert [frame["seq"] for frame in published if frame["type"] == "message.created"] == seqs
    assert Message.objects.filter(client_msg_id=stored.client_msg_id).count() == 1
    hits = search_index.uses_fts5() and search_index_hits("before") + search_index_hits("after")
    assert hits in (False, 2)  # indexed once each, by the send-by-send path


def search_index_hits(word: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {search_index.FTS_TABLE} WHERE {search_index.FTS_TABLE} MATCH %s", [word])  # noqa: S608
        return cursor.fetchone()[0]


def test_slow_mode_holds_within_a_batch(crowd):
    channel, people = crowd
    channel.slow_mode_seconds = 60
    channel.save(update_fields=["slow_mode_seconds"])
    ann = people[1]
    outcomes = service.send_messages([request(ann, channel, "first"), request(ann, channel, "second")])
    assert outcomes[0].error is None
    assert isinstance(outcomes[1].error, service.SlowMode)


def test_the_same_send_twice_in_a_batch_and_a_retry_of_a_stored_one_store_one_message_each(crowd):
    channel, people = crowd
    ann = people[1]
    stored = service.send_messages([request(ann, channel, "stored earlier")])[0].result.message
    twice = uuid.uuid4()
    outcomes = service.send_messages(
        [
            request(ann, channel, "retry", client_msg_id=stored.client_msg_id),
            request(ann, channel, "twice", client_msg_id=twice),
            request(ann, channel, "twice", client_msg_id=twice),
        ]
    )
    assert [outcome.result.created for outcome in outcomes] == [False, True, False]
    assert outcomes[0].result.message.pk == stored.pk
    assert outcomes[0].result.payload["seq"] == stored.seq
    assert outcomes[1].result.message.pk == outcomes[2].result.message.pk
    assert Message.objects.filter(client_msg_id=twice).count() == 1
    assert Message.objects.count() == 2


def test_the_rate_limit_holds_within_a_batch(crowd, monkeypatch):
    from chat.services import ratelimit
    from chat.services.ratelimit import TokenBucket

    channel, people = crowd
    bucket = TokenBucket(rate=0.001, burst=2)
    monkeypatch.setattr(ratelimit, "send_rate", lambda: bucket)
    outcomes = service.send_messages([request(people[1], channel, f"{index}") for index in range(3)])
    assert [type(outcome.error) for outcome in outcomes] == [type(None), type(None), service.RateLimited]
    assert outcomes[2].error.retry_after > 0


def batch_of(channel, people, size: int) -> list:
    return [request(people[index % len(people)], channel, f"counted {index}") for index in range(size)]


# Per batch, whatever its size: earlier sends with those ids, the senders' memberships (with their
# channels), their bans, the stream's seqs, the messages, their events, their read markers (one
# upsert), and its transaction (a savepoint and its release inside a test's transaction); on SQLite
# the FTS5 index too (a delete and an insert; PostgreSQL's generated column needs none).
def batch_queries() -> int:
    return 9 + (2 if search_index.uses_fts5() else 0)


@pytest.fixture
def rollup_later(monkeypatch):
    """As the server runs: the dashboards' rollup written every few seconds, not in the send's transaction."""
    from chat.services import activity

    monkeypatch.setattr(activity, "FLUSH_SECONDS", 3600)


@pytest.mark.parametrize("size", [1, 4, 10, 30])
def test_a_batch_makes_the_same_queries_whatever_its_size(crowd, rollup_later, django_assert_num_queries, size):
    channel, people = crowd
    service.send_messages(batch_of(channel, people, 2))  # warm: the streams' rows, lazy imports
    batch = batch_of(channel, people, size)
    with django_assert_num_queries(batch_queries()):
        outcomes = service.send_messages(batch)
    assert all(outcome.error is None and outcome.result.created for outcome in outcomes)
    seqs = [outcome.result.message.seq for outcome in outcomes]
    assert seqs == list(range(seqs[0], seqs[0] + size))
    assert stored_seqs(channel) == list(range(1, seqs[-1] + 1))
    if search_index.uses_fts5():
        assert search_index_hits("counted") == size + 2


def test_one_send_makes_the_queries_of_a_batch_of_one(crowd, rollup_later, django_assert_num_queries):
    channel, people = crowd
    service.send_message(actor=people[1], channel_id=channel.pk, content="warm", client_msg_id=uuid.uuid4())
    with django_assert_num_queries(batch_queries()):
        result = service.send_message(actor=people[1], channel_id=channel.pk, content="hi", client_msg_id=uuid.uuid4())
    assert result.payload["seq"] == result.message.seq


def test_a_batch_stored_send_by_send_pays_a_savepoint_and_its_writes_per_send(
    crowd, rollup_later, monkeypatch, django_assert_num_queries
):
    from chat.services import send_batch

    channel, people = crowd
    service.send_messages(batch_of(channel, people, 2))
    monkeypatch.setattr(send_batch, "_store_bulk", lambda *args: False)
    # Once: earlier sends, memberships, bans, markers, the transaction (2). Per send: a savepoint and
    # its release, the seq, the message, the event (and on SQLite the index: a delete and an insert).
    per_send = 5 + (2 if search_index.uses_fts5() else 0)
    with django_assert_num_queries(6 + 4 * per_send):
        outcomes = service.send_messages(batch_of(channel, people, 4))
    assert all(outcome.error is None for outcome in outcomes)


class RecordingLayer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group, message):
        self.sent.append((group, message))


@pytest.mark.django_db(transaction=True)
def test_a_batch_publishes_after_its_commit_in_order_with_one_hop_to_the_event_loop(crowd, monkeypatch):
    channel, people = crowd
    layer, hops = RecordingLayer(), []
    real_send_all = events._send_all

    async def counted(layer, pending):
        hops.append(len(pending))
        await real_send_all(layer, pending)

    monkeypatch.setattr(events, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(events, "_send_all", counted)
    outcomes = service.send_messages([request(person, channel, f"from {person.username}") for person in people[:5]])
    created = [message for _, message in layer.sent if message["kind"] == "message.created"]
    assert hops == [len(layer.sent)]
    assert [message["seq"] for message in created] == [outcome.result.message.seq for outcome in outcomes]


def test_a_ban_that_holds_refuses_a_member_and_one_that_ended_does_not(crowd):
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import Ban

    channel, people = crowd
    mod, held, ended = people[0], people[2], people[3]
    # Rows as another path could leave them (ban_user also ends the membership).
    Ban.objects.create(channel=channel, user=held, created_by=mod)
    Ban.objects.create(channel=channel, user=ended, created_by=mod, expires_at=timezone.now() - timedelta(minutes=1))
    outcomes = service.send_messages([request(held, channel, "held"), request(ended, channel, "ended")])
    assert isinstance(outcomes[0].error, service.Banned)
    assert outcomes[1].error is None and outcomes[1].result.created
