"""The reaction frames over a socket (docs/protocol.md): live to everyone, replayed on sync."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from chat.realtime.tests.test_consumers import connect, fresh_layer, next_of  # noqa: F401 (autouse fixture)
from chat.services import messages as message_service

pytestmark = pytest.mark.django_db(transaction=True)


def send(user, channel, content="hello"):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()
    ).message


async def test_reactions_reach_everyone_and_are_replayed_on_sync(room):
    channel, mod, ann = room
    message = await sync_to_async(send)(mod, channel)
    ann_socket, _ = await connect(ann)
    mod_socket, hello = await connect(mod)
    key = str(channel.pk)
    await ann_socket.send_json_to({"type": "reaction.add", "message": message.pk, "emoji": "👍"})
    for socket in (ann_socket, mod_socket):
        added = await next_of(socket, "reaction.added")
        assert (added["stream"], added["message"], added["emoji"]) == (key, {"id": message.pk}, "👍")
        assert added["reactions"] == [{"emoji": "👍", "count": 1, "users": ["ann"]}]
    await ann_socket.send_json_to({"type": "reaction.remove", "message": message.pk, "emoji": "👍"})
    removed = await next_of(mod_socket, "reaction.removed")
    assert removed["seq"] == added["seq"] + 1 and removed["reactions"] == []
    await mod_socket.send_json_to({"type": "sync", "streams": {key: hello["streams"][key]}})
    replayed = [(await next_of(mod_socket, "reaction.added", "reaction.removed"))["type"] for _ in range(2)]
    assert replayed == ["reaction.added", "reaction.removed"]
    await ann_socket.disconnect()
    await mod_socket.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "reaction.add", "message": 1, "emoji": "hello"}, "invalid"),
        ({"type": "reaction.add", "message": 1}, "invalid"),
        ({"type": "reaction.add", "message": 10**9, "emoji": "👍"}, "not_found"),
        ({"type": "reaction.clear", "message": 1}, "forbidden"),
    ],
)
async def test_refused_reaction_frames_are_error_frames(room, frame, code):
    channel, mod, ann = room
    message = await sync_to_async(send)(mod, channel)
    if frame["message"] == 1:
        frame = {**frame, "message": message.pk}
    socket, _ = await connect(ann)
    await socket.send_json_to(frame)
    error = await next_of(socket, "error")
    assert (error["code"], error["ref"]) == (code, frame["type"])
    await socket.disconnect()


async def test_outsiders_get_not_found_for_a_private_channels_message(room, make_user):
    channel, mod, _ = room
    message = await sync_to_async(send)(mod, channel)
    outsider = await sync_to_async(make_user)("outsider")
    socket, _ = await connect(outsider)
    await socket.send_json_to({"type": "reaction.add", "message": message.pk, "emoji": "👍"})
    assert (await next_of(socket, "error"))["code"] == "not_found"
    await socket.disconnect()
