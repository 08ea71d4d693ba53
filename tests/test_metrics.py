"""Metrics of real server processes (hobbies/metrics/): counters and histograms move when messages are
sent, refused and delivered over real WebSockets; /metrics wants its token; and with two daphne
workers of one deployment (prometheus-client's multiprocess mode, METRICS_DIR) a scrape of either
sums both."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from tests.rig.live_client import run_apart
from tests.rig.servers import LiveServer

TOKEN = "scrape-token-" + "t" * 24


@pytest.fixture
def deployment(tmp_path):
    """Two workers of one deployment: one data folder (SQLite, secret, METRICS_DIR), one token."""
    data_dir = tmp_path / "app"
    env = {
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        "METRICS_TOKEN": TOKEN,
        "METRICS_DIR": str(tmp_path / "metrics"),
    }
    workers = [LiveServer(data_dir, env), LiveServer(data_dir, env)]
    workers[0].start()
    sessions = tmp_path / "sessions.json"
    workers[0].manage("seed_demo", "--users", "2", "--fast-passwords", "--sessions", str(sessions))
    workers[1].start()
    yield workers, json.loads(sessions.read_text())
    for worker in workers:
        worker.stop()


def scrape(server: LiveServer, token: str | None = TOKEN) -> dict[tuple[str, tuple], float]:
    request = urllib.request.Request(server.url + "/metrics")  # noqa: S310 (loopback http)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def figure(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(server: LiveServer, name: str, at_least: float, **labels) -> dict:
    """Deliveries reach the histogram within a second (the loop hands them on): poll."""
    deadline = time.monotonic() + 10
    while True:
        samples = scrape(server)
        if figure(samples, name, **labels) >= at_least or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def socket_to(server: LiveServer, session: str):
    return connect(
        server.url.replace("http", "ws") + "/ws/",
        origin=server.url,
        additional_headers={"Cookie": f"sessionid={session}"},
        compression=None,
        proxy=None,
    )


async def frame_of(socket, *types) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        if frame["type"] in types:
            return frame


async def ack_and_own_message(socket) -> None:
    """The sender's ack and its own `message.created`, in whichever order they come."""
    seen: set[str] = set()
    while seen != {"ack", "message.created"}:
        seen.add((await frame_of(socket, "ack", "message.created"))["type"])


def send_frame(channel: int, content: str) -> str:
    return json.dumps(
        {"type": "message.send", "channel": channel, "content": content, "client_msg_id": str(uuid.uuid4())}
    )


def test_sends_refusals_and_deliveries_move_the_figures(deployment):
    (one, _), seeded = deployment
    channel, sessions = seeded["channels"]["private"], seeded["sessions"]

    async def scenario():
        async with socket_to(one, sessions["demo0001"]) as alice, socket_to(one, sessions["demo0002"]) as bob:
            await frame_of(alice, "hello")
            await frame_of(bob, "hello")
            connected = scrape(one)
            await alice.send(send_frame(channel, "hello from the metrics test"))
            assert (await frame_of(alice, "ack"))["message"]["content"] == "hello from the metrics test"
            await frame_of(bob, "message.created")
            await alice.send(send_frame(channel, "   "))  # refused by the service: empty
            assert (await frame_of(alice, "error"))["code"] == "empty"
            await alice.send(json.dumps({"type": "message.send", "channel": channel}))  # refused before it
            assert (await frame_of(alice, "error"))["code"] == "invalid"
            return connected

    connected = run_apart(scenario())
    assert figure(connected, "hobbies_websocket_connections") == 2
    samples = wait_for(one, "hobbies_delivery_latency_seconds_count", 2)
    assert figure(samples, "hobbies_messages_published_total") == 1
    assert figure(samples, "hobbies_message_errors_total", code="empty") == 1
    assert figure(samples, "hobbies_message_errors_total", code="invalid") == 1
    # The message reached both sockets (the sender's too), each delivery measured on the server.
    assert figure(samples, "hobbies_delivery_latency_seconds_count") == 2
    assert 0 < figure(samples, "hobbies_delivery_latency_seconds_sum") < 2
    assert figure(samples, "hobbies_delivery_latency_seconds_bucket", le="+Inf") == 2
    assert figure(samples, "hobbies_websocket_connections") == 0  # both closed
    # Counted from the database when scraped (at most once a minute: this one predates the send).
    assert ("hobbies_active_users", (("window", "month"),)) in samples
    assert figure(samples, "hobbies_http_requests_total", view="metrics", method="GET", status="200") >= 1


def test_metrics_are_refused_without_the_token(deployment):
    (one, _), _ = deployment
    for token in (None, "wrong"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            scrape(one, token)
        assert refused.value.code == 401
    assert figure(scrape(one), "hobbies_messages_published_total") == 0


def test_two_workers_are_summed_by_either(deployment):
    workers, seeded = deployment
    channel, sessions = seeded["channels"]["private"], seeded["sessions"]

    async def scenario():
        # One person on each worker; the in-memory layer keeps each worker's deliveries its own.
        async with (
            socket_to(workers[0], sessions["demo0001"]) as alice,
            socket_to(workers[1], sessions["demo0002"]) as bob,
        ):
            await frame_of(alice, "hello")
            await frame_of(bob, "hello")
            open_now = [scrape(worker) for worker in workers]
            # Each waits for its own message too: a worker that sees a gap (the other worker's
            # message never reaches it here) holds the next event a moment (chat/realtime/hub.py).
            await alice.send(send_frame(channel, "from worker one"))
            await ack_and_own_message(alice)
            await bob.send(send_frame(channel, "from worker two"))
            await ack_and_own_message(bob)
            return open_now

    open_now = run_apart(scenario())
    assert [figure(samples, "hobbies_websocket_connections") for samples in open_now] == [2, 2]
    for worker in workers:
        samples = wait_for(worker, "hobbies_delivery_latency_seconds_count", 2)
        assert figure(samples, "hobbies_messages_published_total") == 2
        assert figure(samples, "hobbies_delivery_latency_seconds_count") == 2
        assert figure(samples, "hobbies_websocket_connections") == 0
