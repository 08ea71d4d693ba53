"""Sockets keep their database connection; other work closes its own after each call."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connection, connections
from django.db.backends.signals import connection_created

from chat.models import Message
from chat.realtime import socket_db
from chat.realtime.tests.test_consumers import connect, fresh_layer, next_of, send_frame  # noqa: F401 (autouse fixture)
from chat.services import messages as message_service
from hobbies.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def opened():
    count: list[int] = []

    def record(sender, connection, **kwargs):
        count.append(1)

    connection_created.connect(record, weak=False)
    yield count
    connection_created.disconnect(record)


def query() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@pytest.mark.parametrize(("socket_work", "connections_opened"), [(True, 1), (False, 3)])
async def test_socket_work_reuses_one_connection(opened, socket_work, connections_opened):
    await database_sync_to_async(connections.close_all)()  # start clean in the shared thread
    token = socket_db.socket_work.set(socket_work)
    try:
        for _ in range(3):
            await database_sync_to_async(query)()
    finally:
        socket_db.socket_work.reset(token)
        await database_sync_to_async(connections.close_all)()
    assert len(opened) == connections_opened


def test_the_websocket_stack_is_marked_as_socket_work():
    assert isinstance(application.application_mapping["websocket"], socket_db.SocketDatabaseMiddleware)


# Group commit: the sends of every socket of the process, written in batches (SendBatcher).


@pytest.fixture
def held_batches(monkeypatch):
    """send_messages as it is, but the first batch waits on the database thread until `release` is
    set: the sends that arrive meanwhile queue for the next batch. Records each batch's size."""
    real = message_service.send_messages
    release, sizes = threading.Event(), []

    def held(requests):
        sizes.append(len(requests))
        if len(sizes) == 1:
            release.wait(10)
        return real(requests)

    monkeypatch.setattr(message_service, "send_messages", held)
    return release, sizes


async def wait_for(condition, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def committed(client_msg_id: str) -> bool:
    """Seen from a connection of its own: only what has committed."""
    try:
        return Message.objects.filter(client_msg_id=client_msg_id).exists()
    finally:
        connections.close_all()


async def test_concurrent_sends_of_several_sockets_share_a_batch_and_are_acked_after_its_commit(room, held_batches):
    channel, mod, ann = room
    release, sizes = held_batches
    sockets = [(await connect(user))[0] for user in (ann, mod, ann)]
    frames = [send_frame(channel, f"send {index}") for index in range(3)]
    await sockets[0].send_json_to(frames[0])
    await wait_for(lambda: sizes == [1])  # the first batch is on the database thread
    for socket, frame in zip(sockets[1:], frames[1:], strict=True):
        await socket.send_json_to(frame)
    await wait_for(lambda: len(socket_db.send_batcher().waiting) == 2)
    release.set()
    acks = [await next_of(socket, "ack") for socket in sockets]
    assert sizes == [1, 2]
    assert [ack["client_msg_id"] for ack in acks] == [frame["client_msg_id"] for frame in frames]
    for ack in acks:
        assert await sync_to_async(committed, thread_sensitive=False)(ack["client_msg_id"])
    seqs = sorted(ack["seq"] for ack in acks)
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    for socket in sockets:
        await socket.disconnect()


async def test_a_refused_send_in_a_batch_gets_its_error_and_the_others_their_acks(room, held_batches):
    channel, mod, ann = room
    release, sizes = held_batches
    first, second, third = [(await connect(user))[0] for user in (ann, mod, ann)]
    await first.send_json_to(send_frame(channel, "first"))
    await wait_for(lambda: sizes == [1])
    bad = send_frame(channel, "   ")
    good = send_frame(channel, "good")
    await second.send_json_to(bad)
    await third.send_json_to(good)
    await wait_for(lambda: len(socket_db.send_batcher().waiting) == 2)
    release.set()
    assert (await next_of(first, "ack"))["message"]["content"] == "first"
    error = await next_of(second, "error")
    assert (error["code"], error["client_msg_id"]) == ("empty", bad["client_msg_id"])
    assert (await next_of(third, "ack"))["client_msg_id"] == good["client_msg_id"]
    assert sizes == [1, 2]
    for socket in (first, second, third):
        await socket.disconnect()


async def test_a_batch_that_fails_as_a_whole_answers_each_of_its_sends(room, monkeypatch):
    channel, _, ann = room

    def broken(requests):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(message_service, "send_messages", broken)
    socket, _ = await connect(ann)
    frame = send_frame(channel, "lost")
    await socket.send_json_to(frame)
    error = await next_of(socket, "error")
    assert (error["code"], error["client_msg_id"]) == ("server_error", frame["client_msg_id"])
    assert not await sync_to_async(committed, thread_sensitive=False)(frame["client_msg_id"])
    assert not socket_db.send_batcher().running
    await socket.disconnect()
