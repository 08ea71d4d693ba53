"""Fan-out benchmark: N members connected to one channel, K senders, M messages at R msg/s.

    .venv/bin/python bench/fanout.py --members 1000 --senders 10 --messages 300 --rate 10 --compare

Starts its own server process (`python -m hobbies.server`, daphne; the baseline under plain
daphne) on a fresh SQLite install, or PostgreSQL + Redis with --stack postgres-redis, seeds the
members with `manage.py seed_demo --sessions`, connects one WebSocket per member speaking the
real protocol, and prints delivery latency (send -> every member's message.created),
deliveries/s, lost and duplicated deliveries, and the server's memory. --compare runs the same
load first against bench/baseline_app.py (bare Channels, no database) and prints
ours/baseline ratios, so figures taken on a noisy shared machine are read as ratios from one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rig.databases import PostgresServer, RedisServer  # noqa: E402
from tests.rig.servers import free_port, stop_process, wait_for_port  # noqa: E402


@dataclass
class Results:
    sent_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    duplicates: int = 0
    errors: int = 0
    delivered: int = 0
    first_send: float = 0.0
    last_delivery: float = 0.0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far: what a delivery costs, even on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    """Our app (or the baseline) in one daphne process on a free port."""

    def __init__(self, *, baseline: bool, stack: str, members: int) -> None:
        self.baseline, self.stack, self.members = baseline, stack, members
        self.data_dir = Path(tempfile.mkdtemp(prefix="hobbies-bench-"))
        self.port = free_port()
        self.backing: list = []
        self.env = {
            **os.environ,
            "DATA_DIR": str(self.data_dir),
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "MESSAGE_RATE_BURST": "1000",
            "MESSAGE_RATE_PER_SECOND": "1000",
        }
        if stack == "postgres-redis":
            postgres, redis = PostgresServer().start(), RedisServer().start()
            self.backing = [redis, postgres]
            self.env.update(DATABASE_URL=postgres.url, REDIS_URL=redis.url)

    def seed(self) -> dict:
        if self.baseline:
            return {"channel": 1, "sessions": ["none"] * self.members}
        manage = [sys.executable, str(ROOT / "manage.py")]
        sessions = self.data_dir / "sessions.json"
        for command in (
            ["migrate", "--noinput"],
            ["seed_demo", "--users", str(self.members), "--fast-passwords", "--sessions", str(sessions)],
        ):
            subprocess.run([*manage, *command], env=self.env, cwd=ROOT, check=True, capture_output=True)
        seeded = json.loads(sessions.read_text())
        # Everyone is in "Demo public"; the first ten also follow "Demo private".
        return {"channel": seeded["channels"]["public"], "sessions": list(seeded["sessions"].values())}

    def start(self) -> None:
        bind = ["-b", "127.0.0.1", "-p", str(self.port)]
        if self.baseline:
            command = [str(Path(sys.executable).parent / "daphne"), *bind, "bench.baseline_app:application"]
        else:  # our app through its own entry point (hobbies/server.py), as deployed
            command = [sys.executable, "-m", "hobbies.server", *bind]
        self.log = open(self.data_dir / "daphne.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            command,
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        stop_process(self.process, timeout=20)  # an overloaded daphne may need killing
        for backing in self.backing:
            backing.stop()


async def member(
    url: str,
    origin: str,
    session: str,
    results: Results,
    expected: int,
    ready: asyncio.Event,
    done: asyncio.Event,
    sockets: list,
    on_delivery: Callable[[dict, float], None] | None = None,
) -> None:
    """One member's socket; `on_delivery(frame, latency)`, if given, is called for each measured delivery."""
    headers = {"Cookie": f"sessionid={session}"}
    async with connect(
        url,
        origin=origin,
        additional_headers=headers,
        compression=None,
        proxy=None,
        max_queue=None,
        open_timeout=60,
        ping_interval=None,
    ) as socket:
        sockets.append(socket)
        seen: set[int] = set()
        hello = json.loads(await socket.recv())
        assert hello["type"] == "hello", hello
        ready.set()
        async for raw in socket:
            frame = json.loads(raw)
            if frame["type"] == "message.created":
                now = time.perf_counter()
                seq = frame["seq"]
                if seq in seen:
                    results.duplicates += 1
                    continue
                seen.add(seq)
                sent = results.sent_at.get(frame["message"]["client_msg_id"])
                if sent is not None:
                    results.latencies.append(now - sent)
                    if on_delivery is not None:
                        on_delivery(frame, now - sent)
                    results.delivered += 1
                    results.last_delivery = now
                if len(seen) >= expected:
                    # Stay connected until the run ends: a thousand sockets closing while the
                    # last message is still being written would slow it down for the others.
                    done.set()
            elif frame["type"] == "error":
                results.errors += 1
    done.set()


async def run_load(server: Server, seeded: dict, args) -> tuple[Results, dict]:
    url, origin = f"ws://127.0.0.1:{server.port}/ws/", f"http://127.0.0.1:{server.port}"
    results = Results()
    sockets: list = []
    rss_before = rss_kib(server.process.pid)
    started = time.perf_counter()
    readies, dones, tasks = [], [], []
    for session in seeded["sessions"]:
        ready, done = asyncio.Event(), asyncio.Event()
        readies.append(ready)
        dones.append(done)
        expected = args.warmup + args.messages
        tasks.append(asyncio.create_task(member(url, origin, session, results, expected, ready, done, sockets)))
        if len(tasks) % 50 == 0:
            await asyncio.gather(*(event.wait() for event in readies[-50:]))
    await asyncio.gather(*(event.wait() for event in readies))
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)
    rss_connected = rss_kib(server.process.pid)

    senders = sockets[: args.senders]
    interval = 1.0 / args.rate
    # Unmeasured: the first messages pay for lazy imports and cold caches, once per process.
    for index in range(args.warmup):
        frame = {"type": "message.send", "channel": seeded["channel"], "content": f"warm-up {index}"}
        await senders[0].send(json.dumps({**frame, "client_msg_id": str(uuid.uuid4())}))
        await asyncio.sleep(interval)
    await asyncio.sleep(1.0)
    cpu_before = cpu_seconds(server.process.pid)
    results.first_send = time.perf_counter()
    for index in range(args.messages):
        client_msg_id = str(uuid.uuid4())
        results.sent_at[client_msg_id] = time.perf_counter()
        frame = {
            "type": "message.send",
            "channel": seeded["channel"],
            "content": f"bench message {index}",
            "client_msg_id": client_msg_id,
        }
        await senders[index % len(senders)].send(json.dumps(frame))
        next_at = results.first_send + (index + 1) * interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in dones)), timeout=args.drain_seconds)
    cpu_used = cpu_seconds(server.process.pid) - cpu_before
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    info = {
        "cpu_seconds": cpu_used,
        "connect_seconds": connect_seconds,
        "rss_before_kib": rss_before,
        "rss_connected_kib": rss_connected,
        "rss_after_kib": rss_kib(server.process.pid),
    }
    return results, info


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarise(name: str, results: Results, info: dict, args) -> dict:
    expected = args.members * args.messages
    seconds = max(1e-9, results.last_delivery - results.first_send)
    figures = {
        "p50_ms": percentile(results.latencies, 0.50) * 1000,
        "p95_ms": percentile(results.latencies, 0.95) * 1000,
        "p99_ms": percentile(results.latencies, 0.99) * 1000,
        "max_ms": max(results.latencies, default=float("nan")) * 1000,
        "deliveries_per_s": results.delivered / seconds,
        "delivered": results.delivered,
        "expected": expected,
        "lost": expected - results.delivered,
        "duplicated": results.duplicates,
        "errors": results.errors,
        "connect_s": info["connect_seconds"],
        "rss_mib": info["rss_after_kib"] / 1024,
        "kib_per_connection": (info["rss_connected_kib"] - info["rss_before_kib"]) / args.members,
        # The server's CPU per delivery while sending and draining: 1 / this bounds its throughput.
        "server_cpu_us_per_delivery": info["cpu_seconds"] / max(1, results.delivered) * 1e6,
    }
    print(f"\n{name}: {args.members} members, {args.senders} senders, {args.messages} messages at {args.rate}/s")
    for key, value in figures.items():
        print(f"  {key:>20}: {value:,.1f}" if isinstance(value, float) else f"  {key:>20}: {value:,}")
    return figures


def measure(baseline: bool, args) -> dict:
    server = Server(baseline=baseline, stack=args.stack, members=args.members)
    try:
        seeded = server.seed()
        server.start()
        results, info = asyncio.run(run_load(server, seeded, args))
    finally:
        server.stop()
    return summarise(
        "baseline (bare Channels)" if baseline else f"Hobbies Community ({args.stack})", results, info, args
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second, all senders together")
    parser.add_argument("--stack", choices=["sqlite", "postgres-redis"], default="sqlite")
    parser.add_argument("--compare", action="store_true", help="also run the bare-Channels baseline and print ratios")
    parser.add_argument("--drain-seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured messages sent first")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, pid {os.getpid()}")
    base = measure(True, args) if args.compare else None
    ours = measure(False, args)
    if base:
        print("\nours / baseline (same run):")
        for key in ("p50_ms", "p99_ms", "deliveries_per_s", "kib_per_connection", "server_cpu_us_per_delivery"):
            if base[key]:
                print(f"  {key:>20}: {ours[key] / base[key]:.3g}x")


if __name__ == "__main__":
    main()
