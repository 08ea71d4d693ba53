"""Chaos: two daphne workers on PostgreSQL + Redis while things break, and what the clients saw.

    .venv/bin/python bench/chaos.py --clients 6 --messages 15
    .venv/bin/python bench/chaos.py --postgres-url postgres://postgres@127.0.0.1:5432/postgres --json report.json

Clients (browser tabs speaking docs/protocol.md, tests/rig/live_client.py) sit in one channel
on two workers and send messages with retries (an unacknowledged send is resent with the same
client_msg_id after every reconnect), while their connections are cut at random. Meanwhile one
worker is killed with SIGKILL and started again, then Redis is restarted (it forgets every group
and queue). After each recovery a probe message is sent every quarter second until one has
reached every tab: that is the time to live delivery. At the end every tab syncs once and is
compared with the database: acknowledged messages lost, messages stored twice, tabs that differ.
It starts its own Redis (to restart it) and, unless given one, its own PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rig.databases import PostgresServer, RedisServer  # noqa: E402
from tests.rig.live_client import Tab  # noqa: E402
from tests.rig.servers import LiveServer  # noqa: E402

LIVE_WITHIN_SECONDS = 5.0


class Chaos:
    def __init__(self, tabs: list[Tab], channel: int, rng: random.Random) -> None:
        self.tabs, self.channel, self.rng = tabs, channel, rng
        self.stop = asyncio.Event()
        self.calm = asyncio.Event()  # set: no random drops (while a recovery is measured)
        self.drops = 0

    async def keep_connected(self, tab: Tab) -> None:
        while not self.stop.is_set():
            if not tab.connected:
                try:
                    await tab.open(timeout=3)
                except Exception:
                    await asyncio.sleep(0.3)
                    continue
            await asyncio.sleep(0.05)

    async def send(self, tab: Tab, count: int) -> None:
        for number in range(count):
            await tab.send_message(self.channel, f"{tab.name} says {number}")
            await asyncio.sleep(self.rng.uniform(0.1, 0.35))

    async def drop_at_random(self) -> None:
        while not self.stop.is_set():
            await asyncio.sleep(self.rng.uniform(0.3, 0.8))
            if self.calm.is_set():
                continue
            tab = self.rng.choice(self.tabs)
            if tab.connected:
                await tab.drop()
                self.drops += 1

    async def live_after(self, recovered: float, name: str) -> float:
        """Send probes from a connected tab until one reaches every tab; seconds since `recovered`."""
        self.calm.set()
        try:
            for number in range(1000):
                elapsed = time.monotonic() - recovered
                if elapsed > LIVE_WITHIN_SECONDS * 3:
                    return float("inf")
                senders = [tab for tab in self.tabs if tab.connected]
                if senders:
                    probe = f"probe {name} {number}"
                    await senders[0].send_message(self.channel, probe)
                    sent = time.monotonic()
                    while time.monotonic() - sent < 0.25:
                        if all(probe in tab.arrived for tab in self.tabs):
                            return max(tab.arrived[probe] for tab in self.tabs) - recovered
                        await asyncio.sleep(0.02)
                else:
                    await asyncio.sleep(0.25)
            return float("inf")
        finally:
            self.calm.clear()


async def scenario(workers: list[LiveServer], redis: RedisServer, seeded: dict, args) -> dict:
    rng = random.Random(args.seed)
    sessions = list(seeded["sessions"].values())[: args.clients]
    tabs = [Tab(workers[index % 2].port, session, name=f"c{index}") for index, session in enumerate(sessions)]
    channel = seeded["channels"]["private"]
    for tab in tabs:
        await tab.open()
    chaos = Chaos(tabs, channel, rng)
    keepers = [asyncio.create_task(chaos.keep_connected(tab)) for tab in tabs]
    dropper = asyncio.create_task(chaos.drop_at_random())
    senders = [asyncio.create_task(chaos.send(tab, args.messages)) for tab in tabs]
    report: dict = {"recoveries": {}}

    await asyncio.sleep(args.phase)
    # A worker dies without a word, and comes back.
    workers[0].process.kill()
    workers[0].process.wait()
    await asyncio.sleep(0.5)
    await asyncio.to_thread(workers[0].start)
    report["recoveries"]["worker_killed"] = await chaos.live_after(time.monotonic(), "worker")

    await asyncio.sleep(args.phase)
    # Redis goes away (every group, queue and bucket with it), and comes back.
    redis.stop()
    await asyncio.sleep(args.redis_down)
    redis.start()
    report["recoveries"]["redis_restarted"] = await chaos.live_after(time.monotonic(), "redis")

    await asyncio.gather(*senders)
    chaos.calm.set()
    deadline = time.monotonic() + 20
    while any(tab.pending for tab in tabs) and time.monotonic() < deadline:
        for tab in tabs:
            if tab.connected:
                for frame in list(tab.pending.values()):
                    await tab._send(frame)
        await asyncio.sleep(0.5)
    chaos.stop.set()
    dropper.cancel()
    await asyncio.gather(*keepers, return_exceptions=True)
    for tab in tabs:
        if not tab.connected:
            await tab.open()
        await tab.sync()
    for tab in tabs:
        await tab.close()
    report["random_drops"] = chaos.drops
    report["tabs"] = tabs
    return report


def stored_messages(database_url: str, channel: int) -> list[tuple[int, int, str | None, str]]:
    import psycopg

    with psycopg.connect(database_url) as connection:
        return connection.execute(
            "SELECT id, seq, CASE WHEN redacted_at IS NULL THEN content END, client_msg_id::text"
            " FROM chat_message WHERE channel_id = %s ORDER BY seq",
            [channel],
        ).fetchall()


def judge(report: dict, rows: list, key: str) -> dict:
    tabs: list[Tab] = report.pop("tabs")
    contents = [content for _, _, content, _ in rows]
    stored_ids = {client_msg_id for *_, client_msg_id in rows}
    acked = {client_msg_id for tab in tabs for client_msg_id in tab.acked}
    by_seq = {seq: (message_id, content) for message_id, seq, content, _ in rows}
    differing = []
    for tab in tabs:
        expected = {message_id: content for seq, (message_id, content) in by_seq.items() if seq > tab.first[key]}
        if tab.messages != expected:
            differing.append(tab.name)
    return {
        **report,
        "messages_stored": len(rows),
        "acknowledged": len(acked),
        "acknowledged_lost": len(acked - stored_ids),
        "stored_twice": len(contents) - len(set(contents)),
        "unacknowledged_at_end": sum(len(tab.pending) for tab in tabs),
        "refused": sum(len(tab.refused) for tab in tabs),
        "server_errors": sum(error["code"] == "server_error" for tab in tabs for error in tab.errors),
        "tabs_differing_after_sync": differing,
        "reconnects": sum(len(tab.closes) for tab in tabs),
    }


def run(args, postgres_url: str, workdir: Path) -> dict:
    import psycopg

    database = f"chaos_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    database_url = postgres_url.rsplit("/", 1)[0] + f"/{database}"
    redis = RedisServer().start()
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "SECRET_KEY": "chaos-" + "k" * 50,
        "LOG_LEVEL": "WARNING",
        "MESSAGE_RATE_PER_SECOND": "100",
        "MESSAGE_RATE_BURST": "100",
    }
    workers = [LiveServer(workdir / name, env) for name in ("one", "two")]
    try:
        for worker in workers:
            worker.start()
        sessions = workdir / "sessions.json"
        workers[1].manage(
            "seed_demo", "--users", str(max(args.clients, 2)), "--fast-passwords", "--sessions", str(sessions)
        )
        seeded = json.loads(sessions.read_text())
        started = time.monotonic()
        report = asyncio.run(scenario(workers, redis, seeded, args))
        report["scenario_seconds"] = round(time.monotonic() - started, 1)
        channel = seeded["channels"]["private"]
        result = judge(report, stored_messages(database_url, channel), str(channel))
        logs = [worker.log_path.read_text(errors="replace") for worker in workers]
        result["worker_log_errors"] = sum(log.count("Exception inside application") for log in logs)
        return result
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=6, help="tabs, alternating between the two workers (≤ 10)")
    parser.add_argument("--messages", type=int, default=15, help="messages each tab sends")
    parser.add_argument("--phase", type=float, default=3.0, help="seconds of plain traffic before each failure")
    parser.add_argument("--redis-down", type=float, default=1.5, help="seconds Redis stays down")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", help="a PostgreSQL server to create the database on (else one is started)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    postgres = None if args.postgres_url else PostgresServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="hobbies-chaos-") as workdir:
            result = run(args, args.postgres_url or postgres.url, Path(workdir))
    finally:
        if postgres is not None:
            postgres.stop()
    result["recoveries"] = {name: round(seconds, 2) for name, seconds in result["recoveries"].items()}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    healthy = (
        result["acknowledged_lost"] == 0
        and result["stored_twice"] == 0
        and not result["tabs_differing_after_sync"]
        and all(seconds <= LIVE_WITHIN_SECONDS for seconds in result["recoveries"].values())
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
