"""PostgreSQL connections of a daphne worker: HTTP requests give theirs back, sockets share one."""

from __future__ import annotations

import json
import urllib.request
import uuid

import psycopg
import pytest
from websockets.asyncio.client import connect

from tests.rig.live_client import run_apart
from tests.rig.servers import LiveServer


@pytest.fixture
def worker(postgres_url, tmp_path):
    database = f"connections_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    server = LiveServer(tmp_path / "app", {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    server.start()
    sessions = tmp_path / "sessions.json"
    server.manage("seed_demo", "--users", "12", "--fast-passwords", "--sessions", str(sessions))
    yield server, url, json.loads(sessions.read_text())["sessions"]
    server.stop()


def open_connections(url: str) -> int:
    with psycopg.connect(url) as admin:
        query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        return admin.execute(query).fetchone()[0]


def test_requests_close_their_connections_and_sockets_share_one(worker):
    server, url, sessions = worker
    for session in list(sessions.values())[:10] * 6:
        page = urllib.request.Request(f"{server.url}/channels/", headers={"Cookie": f"sessionid={session}"})  # noqa: S310 (http://127.0.0.1)
        with urllib.request.urlopen(page, timeout=10) as response:  # noqa: S310
            assert b"Demo public" in response.read()
    assert open_connections(url) == 0

    async def sockets_open():
        opened = [
            await connect(
                f"ws://127.0.0.1:{server.port}/ws/",
                origin=server.url,
                additional_headers={"Cookie": f"sessionid={session}"},
                proxy=None,
            )
            for session in sessions.values()
        ]
        for socket in opened:
            assert json.loads(await socket.recv())["type"] == "hello"
        try:
            return open_connections(url)
        finally:
            for socket in opened:
                await socket.close()

    # A thread of its own: a session-scoped Playwright browser may own this thread's event loop.
    assert run_apart(sockets_open()) == 1
