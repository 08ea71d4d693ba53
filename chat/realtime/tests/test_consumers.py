"""The WebSocket consumer, frame by frame (docs/protocol.md), on whichever stack the run uses."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import events
from chat.models import Message, Privacy
from chat.realtime import consumers, hub, presence, replay, turns
from chat.services import messages as message_service
from chat.services import ratelimit
from chat.services.memberships import add_members, remove_member
from chat.services.presence import presence_store
from chat.services.ratelimit import TokenBucket
from chat.streams import StreamKey

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_layer(settings):
    # Each test runs on its own event loop: give it its own channel layer and quick presence flushes.
    settings.PRESENCE_FLUSH_MS = 50
    settings.PRESENCE_FLUSH_SECONDS = 0.05
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def connect(user):
    communicator = WebsocketCommunicator(consumers.ChatConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return communicator, hello


async def next_of(communicator, *types, timeout=5):
    """The next frame of one of `types`, skipping presence and others."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] in types:
            return frame


async def quiet(communicator, timeout=0.3):
    """True when nothing but presence arrives for `timeout` seconds."""
    while not await communicator.receive_nothing(timeout=timeout):
        if (await communicator.receive_json_from())["type"] != "presence":
            return False
    return True


def send_frame(channel, content="hello", **extra):
    return {
        "type": "message.send",
        "channel": channel.pk,
        "content": content,
        "client_msg_id": str(uuid.uuid4()),
        **extra,
    }


async def still_open(communicator):
    await communicator.send_json_to({"type": "ping", "id": 7})
    assert (await next_of(communicator, "pong"))["id"] == 7


async def test_anonymous_sockets_are_closed_with_4401():
    from django.contrib.auth.models import AnonymousUser

    communicator = WebsocketCommunicator(consumers.ChatConsumer.as_asgi(), "/ws/")
    communicator.scope["user"] = AnonymousUser()
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}


async def test_hello_lists_my_streams_with_their_latest_seq(room):
    channel, _, ann = room
    communicator, hello = await connect(ann)
    key = str(StreamKey(channel.pk))
    assert hello["user"]["username"] == "ann"
    assert hello["streams"] == {key: await sync_to_async(events.last_seq)(StreamKey(channel.pk))}
    await communicator.disconnect()


async def test_a_send_is_acknowledged_and_delivered_to_every_member(room):
    channel, mod, ann = room
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    frame = send_frame(channel, "hi *all*")
    await ann_socket.send_json_to(frame)
    ack = await next_of(ann_socket, "ack")
    created = await next_of(mod_socket, "message.created")
    assert ack["client_msg_id"] == frame["client_msg_id"]
    assert created["message"] == ack["message"]
    assert created["seq"] == ack["seq"] == ack["message"]["seq"]
    assert created["message"]["html"] == "<p>hi <em>all</em></p>"
    own_copy = await next_of(ann_socket, "message.created")
    assert own_copy["seq"] == ack["seq"]
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_a_retried_send_gets_the_original_ack_and_no_second_message(room):
    channel, mod, ann = room
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    frame = send_frame(channel, "only once")
    await ann_socket.send_json_to(frame)
    first = await next_of(ann_socket, "ack")
    await next_of(mod_socket, "message.created")
    await ann_socket.send_json_to(frame)
    second = await next_of(ann_socket, "ack")
    assert second["message"]["id"] == first["message"]["id"]
    assert await quiet(mod_socket)
    assert await sync_to_async(Message.objects.count)() == 1
    await ann_socket.disconnect()
    await mod_socket.disconnect()


UUID = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('"just a string"', "bad_json"),
        (json.dumps({"no": "type"}), "unknown_type"),
        (json.dumps({"type": "teleport"}), "unknown_type"),
        (json.dumps({"type": 5}), "unknown_type"),
        (json.dumps({"type": "message.send", "channel": "1", "content": "x", "client_msg_id": UUID}), "invalid"),
        (json.dumps({"type": "message.send", "channel": True, "content": "x", "client_msg_id": UUID}), "invalid"),
        (json.dumps({"type": "message.send", "channel": 1, "content": "x", "client_msg_id": "nope"}), "invalid"),
        (json.dumps({"type": "message.send", "channel": -3, "content": "x", "client_msg_id": UUID}), "invalid"),
        (json.dumps({"type": "message.edit", "message": 1}), "invalid"),
        (json.dumps({"type": "sync", "streams": []}), "invalid"),
        (json.dumps({"type": "presence.set", "status": "asleep"}), "invalid"),
        (json.dumps({"type": "read", "channel": 99999, "seq": 1}), "not_found"),
        (json.dumps({"type": "message.redact", "message": 99999}), "not_found"),
        # Nesting deeper than the JSON parser's recursion limit (2.4 KB of brackets).
        ("[" * 1200 + "]" * 1200, "bad_json"),
        # Text that is not Unicode (a lone surrogate) in every field that carries text.
        (r'{"type": "presence.set", "status": "away", "text": "\ud800 brb"}', "invalid"),
        (r'{"type": "message.send", "channel": 1, "content": "\udfff", "client_msg_id": "UUID"}', "invalid"),
        (r'{"type": "message.edit", "message": 1, "content": "a\ud800"}', "invalid"),
        (
            r'{"type": "message.send", "channel": 1, "content": "x", "metadata": {"a": "\udc00"}, "client_msg_id": 1}',
            "invalid",
        ),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(room, raw, code):
    _, _, ann = room
    communicator, _ = await connect(ann)
    await communicator.send_to(text_data=raw.replace('"UUID"', f'"{UUID}"'))
    error = await next_of(communicator, "error")
    assert error["code"] == code
    assert error["message"]
    await still_open(communicator)
    await communicator.disconnect()


async def test_oversized_frames_are_refused(room):
    channel, _, ann = room
    communicator, _ = await connect(ann)
    await communicator.send_to(text_data=json.dumps(send_frame(channel, "x" * 20_000)))
    assert (await next_of(communicator, "error"))["code"] == "frame_too_large"
    await still_open(communicator)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("content", "metadata", "code"),
    [("é" * 2049, None, "content_too_long"), ("ok", {"x": "y" * 2000}, "metadata_too_long"), ("  ", None, "empty")],
)
async def test_message_limits_are_error_frames_naming_the_send(room, content, metadata, code):
    channel, _, ann = room
    communicator, _ = await connect(ann)
    frame = send_frame(channel, content, **({"metadata": metadata} if metadata else {}))
    await communicator.send_json_to(frame)
    error = await next_of(communicator, "error")
    assert (error["code"], error["client_msg_id"], error["ref"]) == (code, frame["client_msg_id"], "message.send")
    assert await sync_to_async(Message.objects.count)() == 0
    await communicator.disconnect()


async def test_private_channel_of_others_is_not_found(room, outsider):
    channel, _, _ = room
    communicator, _ = await connect(outsider)
    await communicator.send_json_to(send_frame(channel))
    assert (await next_of(communicator, "error"))["code"] == "not_found"
    await communicator.disconnect()


@pytest.mark.parametrize("change", ["message.edit", "message.redact", "message.delete"])
async def test_changing_a_message_of_an_invisible_channel_is_the_same_error_as_a_missing_id(room, outsider, change):
    channel, _, ann = room
    message = (
        await sync_to_async(message_service.send_message)(
            actor=ann, channel_id=channel.pk, content="private", client_msg_id=uuid.uuid4()
        )
    ).message
    communicator, _ = await connect(outsider)
    answers = []
    for message_id in (message.pk, message.pk + 1000):
        await communicator.send_json_to({"type": change, "message": message_id, "content": "mine now"})
        error = await next_of(communicator, "error")
        answers.append((error["code"], error["message"], error["ref"]))
    assert answers[0] == answers[1] == ("not_found", "That message does not exist.", change)
    await communicator.disconnect()


async def test_a_client_written_attachment_list_is_refused(room):
    channel, _, ann = room
    communicator, _ = await connect(ann)
    forged = {"attachments": [{"id": 1, "key": "attachments/1/x/PAYROLL.pdf", "name": "PAYROLL.pdf"}]}
    frame = send_frame(channel, "see attached", metadata=forged)
    await communicator.send_json_to(frame)
    error = await next_of(communicator, "error")
    assert (error["code"], error["client_msg_id"], error["ref"]) == ("invalid", frame["client_msg_id"], "message.send")
    assert await sync_to_async(Message.objects.count)() == 0
    await communicator.disconnect()


async def test_the_send_rate_is_limited_per_user(room, monkeypatch):
    channel, _, ann = room
    bucket = TokenBucket(rate=0.01, burst=2)
    monkeypatch.setattr(ratelimit, "send_rate", lambda: bucket)
    communicator, _ = await connect(ann)
    for _ in range(2):
        await communicator.send_json_to(send_frame(channel))
        await next_of(communicator, "ack")
    refused = send_frame(channel)
    await communicator.send_json_to(refused)
    error = await next_of(communicator, "error")
    assert (error["code"], error["client_msg_id"]) == ("rate_limited", refused["client_msg_id"])
    assert 0 < error["retry_after"] <= 100
    await still_open(communicator)
    await communicator.disconnect()


async def test_slow_mode_is_an_error_frame_with_retry_after(room):
    channel, mod, ann = room
    await sync_to_async(message_service.set_slow_mode)(actor=mod, channel_id=channel.pk, seconds=60)
    communicator, _ = await connect(ann)
    await communicator.send_json_to(send_frame(channel, "one"))
    await next_of(communicator, "ack")
    await communicator.send_json_to(send_frame(channel, "two"))
    error = await next_of(communicator, "error")
    assert error["code"] == "slow_mode"
    assert 0 < error["retry_after"] <= 60
    await communicator.disconnect()


async def test_edits_redactions_and_deletions_reach_everyone(room, admin_user):
    channel, mod, ann = room
    await sync_to_async(add_members)(actor=mod, channel=channel, users=[admin_user])
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    await ann_socket.send_json_to(send_frame(channel, "typo"))
    message_id = (await next_of(ann_socket, "ack"))["message"]["id"]
    await ann_socket.send_json_to({"type": "message.edit", "message": message_id, "content": "fixed"})
    edited = await next_of(mod_socket, "message.edited")
    assert (edited["message"]["content"], edited["message"]["edited_at"] is not None) == ("fixed", True)
    await mod_socket.send_json_to({"type": "message.edit", "message": message_id, "content": "not mine"})
    assert (await next_of(mod_socket, "error"))["code"] == "forbidden"
    await mod_socket.send_json_to({"type": "message.redact", "message": message_id})
    redacted = await next_of(ann_socket, "message.redacted")
    assert (redacted["message"]["redacted"], redacted["message"]["content"]) == (True, "")
    admin_socket, _ = await connect(admin_user)
    await admin_socket.send_json_to({"type": "message.delete", "message": message_id})
    deleted = await next_of(ann_socket, "message.deleted")
    assert deleted["message"] == {"id": message_id}
    for socket in (ann_socket, mod_socket, admin_socket):
        await socket.disconnect()


async def test_typing_reaches_others_debounced_and_not_myself(room):
    channel, mod, ann = room
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    await ann_socket.send_json_to({"type": "typing", "channel": channel.pk})
    typing = await next_of(mod_socket, "typing")
    assert (typing["user"]["username"], typing["stream"]) == ("ann", str(channel.pk))
    await ann_socket.send_json_to({"type": "typing", "channel": channel.pk})
    assert await quiet(mod_socket) or (await mod_socket.receive_json_from())["type"] != "typing"
    await still_open(ann_socket)
    assert await quiet(ann_socket)
    await ann_socket.disconnect()
    await mod_socket.disconnect()


@pytest.fixture
def public_room(make_channel, make_user):
    owner = make_user("owner")
    return make_channel(owner, privacy=Privacy.PUBLIC), owner


async def test_visitors_of_a_public_channel_subscribe_and_unsubscribe(public_room, outsider):
    channel, owner = public_room
    visitor, _ = await connect(outsider)
    owner_socket, _ = await connect(owner)
    await visitor.send_json_to({"type": "channel.subscribe", "channel": channel.pk})
    added = await next_of(visitor, "stream.added")
    assert added["stream"] == str(channel.pk)
    await owner_socket.send_json_to(send_frame(channel, "welcome, visitors"))
    assert (await next_of(visitor, "message.created"))["message"]["content"] == "welcome, visitors"
    await visitor.send_json_to({"type": "channel.unsubscribe", "channel": channel.pk})
    await still_open(visitor)
    await owner_socket.send_json_to(send_frame(channel, "nobody watching"))
    await next_of(owner_socket, "ack")
    assert await quiet(visitor)
    await visitor.disconnect()
    await owner_socket.disconnect()


async def test_private_channels_cannot_be_subscribed_by_outsiders(room, outsider):
    channel, _, _ = room
    communicator, _ = await connect(outsider)
    await communicator.send_json_to({"type": "channel.subscribe", "channel": channel.pk})
    assert (await next_of(communicator, "error"))["code"] == "not_found"
    await communicator.disconnect()


async def test_read_updates_unread_in_every_tab(room):
    channel, mod, ann = room
    mod_socket, _ = await connect(mod)
    for text in ("a", "b", "c"):
        await mod_socket.send_json_to(send_frame(channel, text))
        await next_of(mod_socket, "ack")
    tab_one, hello = await connect(ann)
    tab_two, _ = await connect(ann)
    last = hello["streams"][str(channel.pk)]
    await tab_one.send_json_to({"type": "read", "channel": channel.pk, "seq": last - 1})
    for tab in (tab_one, tab_two):
        unread = await next_of(tab, "unread")
        assert (unread["count"], unread["last_read_seq"]) == (1, last - 1)
    for socket in (mod_socket, tab_one, tab_two):
        await socket.disconnect()


async def test_sync_replays_edits_and_redactions_in_order(room):
    channel, mod, ann = room
    key = str(StreamKey(channel.pk))
    ann_socket, hello = await connect(ann)
    seen = hello["streams"][key]
    await ann_socket.disconnect()
    mod_socket, _ = await connect(mod)
    ids = []
    for text in ("one", "two", "three"):
        await mod_socket.send_json_to(send_frame(channel, text))
        ids.append((await next_of(mod_socket, "ack"))["message"]["id"])
    await mod_socket.send_json_to({"type": "message.edit", "message": ids[0], "content": "ONE"})
    await mod_socket.send_json_to({"type": "message.redact", "message": ids[1]})
    await next_of(mod_socket, "message.redacted")
    ann_socket, _ = await connect(ann)
    await ann_socket.send_json_to({"type": "sync", "streams": {key: seen}})
    replayed = []
    while (frame := await ann_socket.receive_json_from(timeout=5))["type"] != "sync.done":
        if "seq" in frame:
            replayed.append(frame)
    assert [frame["seq"] for frame in replayed] == list(range(seen + 1, seen + 1 + len(replayed)))
    assert [frame["type"] for frame in replayed] == [
        "message.created",
        "message.created",
        "message.created",
        "message.edited",
        "message.redacted",
    ]
    assert "two" not in json.dumps(replayed)
    assert frame["streams"] == {key: replayed[-1]["seq"]}
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_too_far_behind_is_told_to_resync(room, settings):
    channel, mod, ann = room
    settings.SYNC_REPLAY_LIMIT = 2
    mod_socket, _ = await connect(mod)
    for text in ("a", "b", "c"):
        await mod_socket.send_json_to(send_frame(channel, text))
        await next_of(mod_socket, "ack")
    ann_socket, _ = await connect(ann)
    await ann_socket.send_json_to({"type": "sync", "streams": {str(channel.pk): 0}})
    assert (await next_of(ann_socket, "resync"))["stream"] == str(channel.pk)
    await next_of(ann_socket, "sync.done")
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_syncing_an_invisible_stream_is_not_found(room, outsider):
    channel, _, _ = room
    communicator, _ = await connect(outsider)
    await communicator.send_json_to({"type": "sync", "streams": {str(channel.pk): 0, "bad key": 0}})
    codes = [(await next_of(communicator, "error"))["code"] for _ in range(2)]
    assert sorted(codes) == ["invalid", "not_found"]
    done = await next_of(communicator, "sync.done")
    assert done["streams"] == {}
    await communicator.disconnect()


async def test_a_lost_publication_is_repaired_from_the_database(room, monkeypatch):
    channel, mod, ann = room
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    real_send_group = events.send_group
    dropped = []

    def lose_first_message(group, handler, frame):
        if frame.get("type") == "message.created" and not dropped:
            dropped.append(frame)
            return
        real_send_group(group, handler, frame)

    monkeypatch.setattr(events, "send_group", lose_first_message)
    for text in ("lost in transit", "arrives"):
        await mod_socket.send_json_to(send_frame(channel, text))
        await next_of(mod_socket, "ack")
    first = await next_of(ann_socket, "message.created")
    second = await next_of(ann_socket, "message.created")
    assert (first["message"]["content"], second["message"]["content"]) == ("lost in transit", "arrives")
    assert second["seq"] == first["seq"] + 1
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_a_gap_larger_than_the_replay_limit_is_told_to_resync(room, monkeypatch, settings):
    channel, mod, ann = room
    settings.SYNC_REPLAY_LIMIT = 2
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    real_send_group = events.send_group
    monkeypatch.setattr(events, "send_group", lambda *args: None)  # the layer loses three
    for number in range(3):
        await mod_socket.send_json_to(send_frame(channel, f"lost {number}"))
        await next_of(mod_socket, "ack")
    monkeypatch.setattr(events, "send_group", real_send_group)
    await mod_socket.send_json_to(send_frame(channel, "arrives"))
    assert (await next_of(ann_socket, "resync", "message.created"))["type"] == "resync"
    assert (await next_of(ann_socket, "message.created"))["message"]["content"] == "arrives"
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_deliveries_wait_for_the_frame_being_answered_and_a_backlog_is_repaired(room, monkeypatch):
    """While a frame is being answered, deliveries queue for their turn (so the sender's ack comes
    before its own message.created); past INBOX_LIMIT the oldest are dropped and the gap is
    filled from the database, so every message still arrives once and in order."""
    channel, mod, ann = room
    monkeypatch.setattr(turns, "INBOX_LIMIT", 3)
    repairs = []
    real_events_between = replay.events_between
    monkeypatch.setattr(replay, "events_between", lambda *args: repairs.append(args) or real_events_between(*args))
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_presence_set(*args):
        started.set()
        await release.wait()

    monkeypatch.setattr(presence, "presence_set", slow_presence_set)
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    await ann_socket.send_json_to({"type": "presence.set", "status": "away"})
    await started.wait()
    for number in range(6):
        await mod_socket.send_json_to(send_frame(channel, f"m{number}"))
        answer = await next_of(mod_socket, "ack", "message.created")
        assert answer["type"] == "ack"
        assert (await next_of(mod_socket, "ack", "message.created"))["type"] == "message.created"
    release.set()
    created = [await next_of(ann_socket, "message.created") for _ in range(6)]
    assert [frame["message"]["content"] for frame in created] == [f"m{number}" for number in range(6)]
    assert [frame["seq"] for frame in created] == list(range(created[0]["seq"], created[0]["seq"] + 6))
    assert repairs  # some were dropped and fetched again
    assert await quiet(ann_socket)
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_in_order_deliveries_never_reach_the_database(room, monkeypatch):
    channel, mod, ann = room
    ann_socket, _ = await connect(ann)
    mod_socket, _ = await connect(mod)
    monkeypatch.setattr(replay, "events_between", lambda *args: pytest.fail("an in-order delivery read the database"))
    for number in range(20):
        await mod_socket.send_json_to(send_frame(channel, f"m{number}"))
        await next_of(mod_socket, "ack")
    assert [(await next_of(ann_socket, "message.created"))["message"]["content"] for _ in range(20)] == [
        f"m{number}" for number in range(20)
    ]
    await ann_socket.disconnect()
    await mod_socket.disconnect()


@pytest.fixture
def bob(make_user):
    return make_user("bob")


async def test_joining_and_leaving_follow_streams_live(room, bob):
    channel, mod, _ = room
    bob_socket, hello = await connect(bob)
    assert hello["streams"] == {}
    await sync_to_async(add_members)(actor=mod, channel=channel, users=[bob])
    added = await next_of(bob_socket, "stream.added")
    assert added["stream"] == str(channel.pk)
    mod_socket, _ = await connect(mod)
    await mod_socket.send_json_to(send_frame(channel, "welcome bob"))
    assert (await next_of(bob_socket, "message.created"))["message"]["content"] == "welcome bob"
    await sync_to_async(remove_member)(actor=mod, channel=channel, user=bob)
    assert (await next_of(bob_socket, "stream.removed"))["stream"] == str(channel.pk)
    await mod_socket.send_json_to(send_frame(channel, "bob is gone"))
    await next_of(mod_socket, "ack")
    assert await quiet(bob_socket)
    await bob_socket.disconnect()
    await mod_socket.disconnect()


async def test_presence_is_batched_and_follows_connections(room):
    channel, mod, ann = room
    mod_socket, _ = await connect(mod)
    ann_socket, _ = await connect(ann)
    online = await next_of(mod_socket, "presence")
    assert {"id": ann.pk, "username": "ann", "status": "online", "text": ""} in online["users"]
    await ann_socket.send_json_to({"type": "presence.set", "status": "away", "text": "Working from home"})
    away = await next_of(mod_socket, "presence")
    assert {"username": "ann", "status": "away", "text": "Working from home"}.items() <= away["users"][0].items()
    await ann_socket.disconnect()
    offline = await next_of(mod_socket, "presence")
    assert offline["users"][0]["status"] == "offline"
    await mod_socket.disconnect()


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
FRAME_TYPES = st.sampled_from([*consumers.ChatConsumer.handlers, "x", ""])
JUNK_FRAMES = st.one_of(
    st.text(min_size=1, max_size=60),
    JUNK.map(json.dumps),
    st.builds(
        lambda kind, fields: json.dumps({"type": kind, **fields}),
        FRAME_TYPES,
        st.dictionaries(
            st.sampled_from(
                [
                    "channel",
                    "content",
                    "message",
                    "seq",
                    "streams",
                    "client_msg_id",
                    "status",
                    "text",
                    "stream",
                    "metadata",
                ]
            ),
            JUNK,
            max_size=5,
        ),
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=st.lists(JUNK_FRAMES, min_size=1, max_size=8))
def test_junk_frames_never_crash_the_consumer(room, frames):
    channel, _, ann = room

    async def exercise():
        channel_layers.backends.clear()
        communicator, _ = await connect(ann)
        for raw in frames:
            await communicator.send_to(text_data=raw)
        await communicator.send_json_to({"type": "ping", "id": "end"})
        answers = []
        while (frame := await communicator.receive_json_from(timeout=5)) != {"type": "pong", "id": "end"}:
            answers.append(frame)
        assert "server_error" not in [frame.get("code") for frame in answers]
        await communicator.disconnect()

    async_to_sync(exercise)()


@pytest.fixture
def thinning_elastic(make_elastic, make_user):
    """An elastic channel (target 4, minimum 40%) with #1 holding 3 and #2 holding 2: when one of
    #2 leaves, #2 falls below 1.6 members and its last member is merged into #1."""
    from chat.models import Membership, SubChannel

    owner = make_user("owner")
    channel = make_elastic(owner, maximum=3, target=4, minimum_percentage=40)
    people = [make_user(f"p{index}") for index in range(6)]
    add_members(actor=owner, channel=channel, users=people)
    first, second = SubChannel.objects.filter(channel=channel).order_by("number")
    stayer, leaver = [m.user for m in Membership.objects.filter(subchannel=second).select_related("user")]
    remove_member(actor=owner, channel=channel, user=Membership.objects.filter(subchannel=first).first().user)
    return channel, owner, first, second, stayer, leaver


async def test_a_member_moved_by_a_merge_is_told_and_follows_the_new_stream(thinning_elastic):
    from chat.services.memberships import leave_channel

    channel, owner, first, second, stayer, leaver = thinning_elastic
    old, new = str(StreamKey(channel.pk, second.pk)), str(StreamKey(channel.pk, first.pk))
    socket, hello = await connect(stayer)
    assert list(hello["streams"]) == [old]
    await sync_to_async(leave_channel)(actor=leaver, channel=channel)
    moved = await next_of(socket, "member.moved")
    assert (moved["from"], moved["to"], moved["stream"]) == (2, 1, new)
    assert (await next_of(socket, "stream.removed"))["stream"] == old
    assert (await next_of(socket, "stream.added"))["stream"] == new
    owner_socket, _ = await connect(owner)
    await owner_socket.send_json_to(send_frame(channel, "welcome to #1", stream=new))
    assert (await next_of(socket, "message.created"))["message"]["content"] == "welcome to #1"
    await socket.disconnect()
    await owner_socket.disconnect()


async def test_any_failure_while_reading_a_frame_is_an_error_and_the_socket_stays_open(room, monkeypatch):
    _, _, ann = room
    communicator, _ = await connect(ann)
    real_parse = consumers.parse_frame

    def broken_parse(text):
        if "boom" in text:
            raise RuntimeError("a bug in the frame reader")
        return real_parse(text)

    monkeypatch.setattr(consumers, "parse_frame", broken_parse)
    await communicator.send_to(text_data='{"type": "boom"}')
    assert (await next_of(communicator, "error"))["code"] == "server_error"
    await still_open(communicator)
    await communicator.disconnect()


async def forgotten(user, station, timeout=5.0):
    """Wait until no socket of `user` is left in the hub or the presence store."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (
        any(station.groups.values())
        or (await sync_to_async(presence_store().get_many)([user.pk]))[user.pk].status != "offline"
    ):
        assert asyncio.get_running_loop().time() < deadline, f"still registered: {station.groups}"
        await asyncio.sleep(0.02)


async def test_a_socket_that_crashes_is_forgotten_by_the_hub_and_presence(room):
    _, _, ann = room
    communicator, _ = await connect(ann)
    station = hub.current_hub()
    assert station.groups
    await communicator.send_input({"type": "websocket.unheard_of"})  # the consumer has no handler: it ends
    with pytest.raises(ValueError, match="No handler"):
        await communicator.wait(timeout=5)
    await forgotten(ann, station)


async def test_a_socket_the_server_kills_is_forgotten_by_the_hub_and_presence(room):
    _, _, ann = room
    communicator, _ = await connect(ann)
    station = hub.current_hub()
    communicator.future.cancel()  # what daphne does to an application slow to close
    await communicator.wait(timeout=5)
    await forgotten(ann, station)


async def test_a_lone_surrogate_in_a_status_spoils_nobody_elses_presence(room):
    channel, mod, ann = room
    mod_socket, _ = await connect(mod)
    ann_socket, _ = await connect(ann)
    await next_of(mod_socket, "presence")
    await ann_socket.send_to(text_data=r'{"type": "presence.set", "status": "away", "text": "\ud800 brb"}')
    assert (await next_of(ann_socket, "error"))["code"] == "invalid"
    await mod_socket.send_json_to({"type": "presence.set", "status": "away", "text": "tea"})
    changed = await next_of(ann_socket, "presence")
    assert {"username": "mod", "status": "away", "text": "tea"}.items() <= changed["users"][0].items()
    statuses = await sync_to_async(presence_store().get_many)([ann.pk])
    assert statuses[ann.pk].text == ""
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_a_person_banned_from_a_public_channel_cannot_say_they_are_typing(public_room, outsider):
    from chat.services.memberships import ban_user

    channel, owner = public_room
    owner_socket, _ = await connect(owner)
    visitor, _ = await connect(outsider)
    await visitor.send_json_to({"type": "channel.subscribe", "channel": channel.pk})
    await next_of(visitor, "stream.added")
    await sync_to_async(ban_user)(actor=owner, channel=channel, user=outsider)
    await visitor.send_json_to({"type": "typing", "channel": channel.pk})
    assert (await next_of(visitor, "error"))["code"] == "banned"
    assert await quiet(owner_socket)
    await visitor.disconnect()
    await owner_socket.disconnect()


@pytest.fixture
def layer_restarts(monkeypatch, forget_groups):
    """Restart the channel layer as the hub's probe sees it (a Redis restart forgets every group)."""
    state = {"epoch": "first"}

    async def probe(layer):
        return state["epoch"]

    monkeypatch.setattr(hub, "layer_epoch", probe)
    monkeypatch.setattr(hub, "PROBE_SECONDS", 0.02)

    async def restart():
        await forget_groups(channel_layers["default"])
        state["epoch"] += "+"

    return restart


async def test_idle_sockets_are_told_the_heads_of_their_streams(room, settings):
    channel, mod, ann = room
    settings.WS_HEADS_SECONDS = 0.2
    ann_socket, hello = await connect(ann)
    heads = await next_of(ann_socket, "heads", timeout=3)
    assert heads["streams"] == hello["streams"]
    await ann_socket.disconnect()


async def test_events_committed_while_the_layer_was_down_reach_every_socket_when_it_returns(
    room, monkeypatch, layer_restarts
):
    channel, mod, ann = room
    ann_socket, hello = await connect(ann)
    mod_socket, _ = await connect(mod)
    key = str(channel.pk)
    real_send_group = events.send_group
    monkeypatch.setattr(events, "send_group", lambda *args: None)  # Redis is down: nothing is published
    sent = []
    for number in range(3):
        await mod_socket.send_json_to(send_frame(channel, f"while down {number}"))
        sent.append((await next_of(mod_socket, "ack"))["seq"])
    monkeypatch.setattr(events, "send_group", real_send_group)
    await layer_restarts()
    missed = [await next_of(ann_socket, "message.created") for _ in range(3)]
    assert [frame["seq"] for frame in missed] == sent
    heads = await next_of(ann_socket, "heads")
    assert heads["streams"][key] == sent[-1]
    # And live again: the hub joined its groups once more.
    await mod_socket.send_json_to(send_frame(channel, "after"))
    assert (await next_of(ann_socket, "message.created"))["message"]["content"] == "after"
    assert hello["streams"][key] == sent[0] - 1
    await ann_socket.disconnect()
    await mod_socket.disconnect()


async def test_a_reply_names_its_original_and_its_author_is_told(room):
    channel, mod, ann = room
    mod_socket, _ = await connect(mod)
    ann_socket, _ = await connect(ann)
    await mod_socket.send_json_to(send_frame(channel, "who brings the wool?"))
    original = (await next_of(mod_socket, "ack"))["message"]
    await ann_socket.send_json_to(send_frame(channel, "me", reply_to=original["id"]))
    created = await next_of(mod_socket, "message.created")
    while created["message"]["id"] == original["id"]:
        created = await next_of(mod_socket, "message.created")
    assert created["message"]["reply_to"]["id"] == original["id"]
    assert created["message"]["reply_to"]["excerpt"] == "who brings the wool?"
    notice = await next_of(mod_socket, "reply")
    assert notice["message"] == {"id": created["message"]["id"], "reply_to": original["id"]}
    await ann_socket.send_json_to(send_frame(channel, "x", reply_to="one"))
    assert (await next_of(ann_socket, "error"))["code"] == "invalid"
    await mod_socket.disconnect()
    await ann_socket.disconnect()


async def test_an_idle_tab_shows_its_person_away_until_it_is_used_again(room):
    channel, mod, ann = room
    mod_socket, _ = await connect(mod)
    ann_socket, _ = await connect(ann)
    second_socket, _ = await connect(ann)  # another tab of ann's

    async def anns_status():
        while True:
            frame = await next_of(mod_socket, "presence")
            if ann_status := [user["status"] for user in frame["users"] if user["id"] == ann.pk]:
                return ann_status[0]

    assert await anns_status() == "online"
    await ann_socket.send_json_to({"type": "presence.idle", "idle": True})
    assert await anns_status() == "online"  # her other tab is in use
    await second_socket.send_json_to({"type": "presence.idle", "idle": True})
    assert await anns_status() == "away"
    await second_socket.send_json_to({"type": "presence.idle", "idle": False})
    assert await anns_status() == "online"
    await ann_socket.send_json_to({"type": "presence.idle", "idle": "yes"})
    assert (await next_of(ann_socket, "error"))["code"] == "invalid"
    for socket in (ann_socket, second_socket, mod_socket):
        await socket.disconnect()
