"""Two daphne workers on one PostgreSQL database and one Redis channel layer."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from websockets.asyncio.client import connect

from tests.rig.servers import LiveServer


@pytest.fixture
def two_workers(postgres_url, redis_url, tmp_path):
    database = f"scaleout_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    env = {
        "DATABASE_URL": postgres_url.rsplit("/", 1)[0] + f"/{database}",
        # A Redis database of its own, away from the in-process tests' groups.
        "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
        "SECRET_KEY": "scale-out-test-" + "k" * 40,
        "LOG_LEVEL": "WARNING",
        # The test sends 100 messages as fast as acks come back; the default limit is 10/s.
        "MESSAGE_RATE_PER_SECOND": "1000",
        "MESSAGE_RATE_BURST": "1000",
    }
    servers = [LiveServer(tmp_path / name, env) for name in ("one", "two")]
    for server in servers:
        server.start()
    sessions = tmp_path / "sessions.json"
    servers[0].manage("seed_demo", "--users", "2", "--fast-passwords", "--sessions", str(sessions))
    seeded = json.loads(sessions.read_text())
    # demo0001 and demo0002 share the private demo channel.
    yield servers, {"channel": seeded["channels"]["private"], "sessions": seeded["sessions"]}
    for server in servers:
        server.stop()


def socket_to(server: LiveServer, session: str):
    return connect(
        f"ws://127.0.0.1:{server.port}/ws/",
        origin=f"http://127.0.0.1:{server.port}",
        additional_headers={"Cookie": f"sessionid={session}"},
        compression=None,
        proxy=None,
    )


async def next_of(socket, *types):
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        assert frame["type"] != "error", frame
        if frame["type"] in types:
            return frame


def send_frame(channel: int, content: str) -> dict:
    return {"type": "message.send", "channel": channel, "content": content, "client_msg_id": str(uuid.uuid4())}


def test_messages_cross_workers_and_a_reconnecting_client_catches_up_exactly(two_workers):
    servers, seeded = two_workers
    channel, sessions = seeded["channel"], seeded["sessions"]
    key = str(channel)

    async def scenario():
        async with socket_to(servers[0], sessions["demo0001"]) as alice:
            await next_of(alice, "hello")
            async with socket_to(servers[1], sessions["demo0002"]) as bob:
                await next_of(bob, "hello")
                # Worker one to worker two, and back.
                await alice.send(json.dumps(send_frame(channel, "hello from worker one")))
                crossed = await next_of(bob, "message.created")
                assert crossed["message"]["content"] == "hello from worker one"
                await bob.send(json.dumps(send_frame(channel, "hello from worker two")))
                back = await next_of(alice, "message.created")
                while back["message"]["content"] != "hello from worker two":
                    back = await next_of(alice, "message.created")
                bob_seen = (await next_of(bob, "message.created"))["seq"]

            # Bob is away: 100 messages, some edited, some redacted.
            expected: dict[int, str | None] = {}
            ids = []
            for index in range(100):
                await alice.send(json.dumps(send_frame(channel, f"message {index}")))
                ack = await next_of(alice, "ack")
                ids.append(ack["message"]["id"])
                expected[ack["message"]["id"]] = f"message {index}"
            for message_id in ids[::10]:
                await alice.send(json.dumps({"type": "message.edit", "message": message_id, "content": "edited"}))
                expected[message_id] = "edited"
            for message_id in ids[3::7]:
                await alice.send(json.dumps({"type": "message.redact", "message": message_id}))
                expected[message_id] = None
            await alice.send(json.dumps({"type": "ping", "id": "flushed"}))
            await next_of(alice, "pong")

        async with socket_to(servers[1], sessions["demo0002"]) as bob:
            hello = await next_of(bob, "hello")
            await bob.send(json.dumps({"type": "sync", "streams": {key: bob_seen}}))
            replayed = []
            while (frame := json.loads(await asyncio.wait_for(bob.recv(), timeout=10)))["type"] != "sync.done":
                if frame.get("stream") == key and "seq" in frame:
                    replayed.append(frame)
        return hello, replayed, expected

    # A thread of its own: a session-scoped Playwright browser may own this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hello, replayed, expected = pool.submit(asyncio.run, scenario()).result()
    seqs = [frame["seq"] for frame in replayed]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gaps, no duplicates, in order"
    assert seqs[-1] == hello["streams"][key]
    state: dict[int, str | None] = {}
    for frame in replayed:
        message = frame["message"]
        if frame["type"] == "message.deleted":
            state.pop(message["id"], None)
        else:
            state[message["id"]] = None if message["redacted"] else message["content"]
    assert state == expected
    assert sum(frame["type"] == "message.created" for frame in replayed) == 100
