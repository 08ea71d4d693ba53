"""Redis restarted under two daphne workers with clients connected: nothing is lost, live again in seconds."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.rig.components import require_binary
from tests.rig.databases import RedisServer
from tests.rig.live_client import Tab
from tests.rig.servers import LiveServer

LIVE_WITHIN_SECONDS = 5.0


@pytest.fixture
def own_redis():
    """A redis-server of this test's own, to restart (the shared one serves other tests)."""
    require_binary("redis-server")
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def two_workers(postgres_url, own_redis, tmp_path):
    database = f"redis_restart_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    env = {
        "DATABASE_URL": postgres_url.rsplit("/", 1)[0] + f"/{database}",
        "REDIS_URL": own_redis.url,
        "SECRET_KEY": "redis-restart-test-" + "k" * 40,
        "LOG_LEVEL": "WARNING",
        "MESSAGE_RATE_PER_SECOND": "1000",
        "MESSAGE_RATE_BURST": "1000",
    }
    servers = [LiveServer(tmp_path / name, env) for name in ("one", "two")]
    for server in servers:
        server.start()
    sessions = tmp_path / "sessions.json"
    servers[0].manage("seed_demo", "--users", "4", "--fast-passwords", "--sessions", str(sessions))
    seeded = json.loads(sessions.read_text())
    yield servers, seeded["channels"]["private"], list(seeded["sessions"].values())
    for server in servers:
        server.stop()


async def everywhere(tabs: list[Tab], content: str, since: float, timeout: float) -> float:
    """Seconds from `since` until `content` had reached every tab (fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    while not all(content in tab.arrived for tab in tabs):
        missing = [tab.name for tab in tabs if content not in tab.arrived]
        assert time.monotonic() < deadline, f"{content!r} missing in {missing}"
        await asyncio.sleep(0.05)
    return max(tab.arrived[content] for tab in tabs) - since


def test_a_redis_restart_loses_nothing_and_delivery_is_live_again_within_seconds(two_workers, own_redis):
    servers, channel, sessions = two_workers

    async def scenario() -> dict:
        tabs = [Tab(servers[index % 2].port, session, name=f"tab{index}") for index, session in enumerate(sessions)]
        for tab in tabs:
            await tab.open()
        alice, bob = tabs[0], tabs[1]  # on worker one and worker two
        await alice.acknowledged(await alice.send_message(channel, "before"))
        await everywhere(tabs, "before", time.monotonic(), 5)

        own_redis.stop()
        down = [await alice.send_message(channel, f"while down {n}") for n in range(3)]
        down.append(await bob.send_message(channel, "while down from two"))
        for tab, client_msg_id in zip([alice] * 3 + [bob], down, strict=True):
            await tab.acknowledged(client_msg_id, timeout=5)
        await tabs[2].socket.send(json.dumps({"type": "read", "channel": channel, "seq": alice.acked[down[0]]["seq"]}))
        await asyncio.sleep(0.5)

        own_redis.start()
        restarted = time.monotonic()
        # New sockets are accepted at once on both workers.
        late = [Tab(server.port, sessions[3], name=f"late{n}") for n, server in enumerate(servers)]
        for tab in late:
            await tab.open()
        missed = [
            await everywhere(tabs, content, restarted, LIVE_WITHIN_SECONDS)
            for content in ["while down 0", "while down 1", "while down 2", "while down from two"]
        ]
        # Live again: a message sent now reaches every tab, old and new, without any sync.
        probe, live = 0, None
        while live is None:
            assert time.monotonic() - restarted < LIVE_WITHIN_SECONDS, "no live delivery after the restart"
            await bob.send_message(channel, f"probe {probe}")
            await asyncio.sleep(0.25)
            if all(f"probe {probe}" in tab.arrived for tab in tabs + late):
                live = time.monotonic() - restarted
            probe += 1
        errors = [error for tab in tabs + late for error in tab.errors]
        for tab in tabs + late:
            await tab.close()
        return {"missed_caught_up_after": max(missed), "live_after": live, "errors": errors, "tabs": tabs}

    # A thread of its own: a session-scoped Playwright browser may own this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(asyncio.run, scenario()).result()
    caught_up, live = result["missed_caught_up_after"], result["live_after"]
    print(f"redis restart: missed events everywhere after {caught_up:.2f}s, live after {live:.2f}s")
    assert result["errors"] == []
    assert all(set(result["tabs"][0].messages) == set(tab.messages) for tab in result["tabs"])
    for server in servers:
        log = server.log_path.read_text()
        assert log.count("event=rate_limit_fallback") == 1, server.log_tail()
        assert "event=layer_recovered" in log
        assert "status 1011" not in log and "Exception inside application" not in log, server.log_tail()
