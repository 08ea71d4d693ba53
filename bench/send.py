"""Send-path benchmark: K senders flat out (or at a fixed rate) into one channel, N idle members.

    .venv/bin/python bench/send.py --members 0 --compare            # 10 senders, 8 in flight each
    .venv/bin/python bench/send.py --members 0 --rate 200           # ack latency at 200 msg/s
    .venv/bin/python bench/send.py --members 0 --stack postgres-redis
    .venv/bin/python bench/send.py --members 100                    # with fan-out to 100 idle members

Starts a fresh install exactly as bench/fanout.py does (its Server: `manage.py seed_demo`, then
`python -m hobbies.server`, one daphne process; the rate limit lifted), connects N members who
only read, and K sender sockets that each keep a window of W `message.send` frames outstanding
(each `ack` sends the next), or, with --rate, send R messages/s in all. It prints messages/s
acknowledged (stored and committed: an ack comes after commit), ack latency p50/p99/max, the
server's CPU time per message (from /proc/<pid>/stat, steadier than latency on a shared
machine) and the queries one send costs (the service run in a separate process under Django's
query capture). --compare runs the same load first against bench/baseline_app.py (bare
Channels acknowledging each send with no database) and times a raw sqlite3 loop (one INSERT
and COMMIT per message, WAL), then prints ratios from the same run. --profile FILE has py-spy
sample the server through the measured seconds (collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout import Server, cpu_seconds, percentile  # noqa: E402


@dataclass
class Tally:
    sent_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    acked: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    measuring: bool = False


def connect_socket(url: str, origin: str, session: str):
    return connect(
        url,
        origin=origin,
        additional_headers={"Cookie": f"sessionid={session}"},
        compression=None,
        proxy=None,
        max_queue=None,
        open_timeout=60,
        ping_interval=None,
    )


async def idle_member(url: str, origin: str, session: str, ready: asyncio.Event) -> None:
    """Reads (and drops) every frame, as a tab would."""
    async with connect_socket(url, origin, session) as socket:
        await socket.recv()  # hello
        ready.set()
        async for _ in socket:
            pass


class Sender:
    def __init__(self, socket, channel: int, tally: Tally, label: str) -> None:
        self.socket, self.channel, self.tally, self.label = socket, channel, tally, label
        self.count = 0
        self.acked = asyncio.Event()

    async def send_one(self) -> None:
        self.count += 1
        client_msg_id = str(uuid.uuid4())
        self.tally.sent_at[client_msg_id] = time.perf_counter()
        frame = {"type": "message.send", "channel": self.channel, "client_msg_id": client_msg_id}
        await self.socket.send(json.dumps({**frame, "content": f"{self.label} message {self.count}"}))

    async def read(self, on_ack) -> None:
        async for raw in self.socket:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "ack":
                sent = self.tally.sent_at.pop(frame["client_msg_id"], None)
                if sent is not None and self.tally.measuring:
                    self.tally.latencies.append(time.perf_counter() - sent)
                    self.tally.acked += 1
                await on_ack(self)
            elif kind == "error":
                code = frame.get("code", "?")
                self.tally.errors[code] = self.tally.errors.get(code, 0) + 1
                if frame.get("client_msg_id"):
                    self.tally.sent_at.pop(frame["client_msg_id"], None)
                    await on_ack(self)


async def run_load(server: Server, seeded: dict, args) -> dict:
    url, origin = f"ws://127.0.0.1:{server.port}/ws/", f"http://127.0.0.1:{server.port}"
    sessions = seeded["sessions"]
    sender_sessions, idle_sessions = sessions[: args.senders], sessions[args.senders :]
    tasks, readies = [], []
    for session in idle_sessions:
        ready = asyncio.Event()
        readies.append(ready)
        tasks.append(asyncio.create_task(idle_member(url, origin, session, ready)))
        if len(tasks) % 50 == 0:
            await asyncio.gather(*(event.wait() for event in readies[-50:]))
    await asyncio.gather(*(event.wait() for event in readies))
    tally = Tally()
    senders = []
    async with contextlib.AsyncExitStack() as stack:
        for index, session in enumerate(sender_sessions):
            socket = await stack.enter_async_context(connect_socket(url, origin, session))
            await socket.recv()  # hello
            senders.append(Sender(socket, seeded["channel"], tally, f"s{index}"))
        running = True

        async def on_ack(sender: Sender) -> None:
            if running and not args.rate:
                await sender.send_one()  # flat out: the window stays full

        readers = [asyncio.create_task(sender.read(on_ack)) for sender in senders]
        pid = server.process.pid
        if args.rate:
            interval = 1.0 / args.rate
            started = time.perf_counter()
            index = 0
            # Warm-up first (unmeasured), then the measured seconds.
            while time.perf_counter() - started < args.warmup:
                await senders[index % len(senders)].send_one()
                index += 1
                await asyncio.sleep(max(0.0, started + index * interval - time.perf_counter()))
            tally.measuring, cpu_before, begun = True, cpu_seconds(pid), time.perf_counter()
            sent_from = index
            while time.perf_counter() - begun < args.seconds:
                await senders[index % len(senders)].send_one()
                index += 1
                await asyncio.sleep(max(0.0, started + index * interval - time.perf_counter()))
            running = False
            deadline = time.perf_counter() + 10
            while tally.acked < index - sent_from and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            seconds = time.perf_counter() - begun
        else:
            for sender in senders:
                for _ in range(args.window):
                    await sender.send_one()
            await asyncio.sleep(args.warmup)
            tally.measuring, cpu_before, begun = True, cpu_seconds(pid), time.perf_counter()
            profiler = start_profiler(pid, args)
            await asyncio.sleep(args.seconds)
            tally.measuring, running = False, False
            seconds = time.perf_counter() - begun
            if profiler is not None:
                await asyncio.to_thread(profiler.wait)
        cpu_used = cpu_seconds(pid) - cpu_before
        await asyncio.sleep(0.5)  # let the last acks in before the sockets close
        for task in [*readers, *tasks]:
            task.cancel()
        await asyncio.gather(*readers, *tasks, return_exceptions=True)
    return {
        "messages_per_s": tally.acked / seconds,
        "acked": tally.acked,
        "ack_p50_ms": percentile(tally.latencies, 0.50) * 1000,
        "ack_p99_ms": percentile(tally.latencies, 0.99) * 1000,
        "ack_max_ms": max(tally.latencies, default=float("nan")) * 1000,
        "server_cpu_ms_per_message": cpu_used / max(1, tally.acked) * 1000,
        "errors": sum(tally.errors.values()),
        "error_codes": dict(tally.errors),
    }


def start_profiler(pid: int, args) -> subprocess.Popen | None:
    """py-spy sampling the server through the measured seconds (collapsed stacks, --profile FILE)."""
    if not args.profile:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    command = [str(spy), "record", "-p", str(pid), "-d", str(int(args.seconds)), "-r", "200"]
    return subprocess.Popen([*command, "--format", "raw", "-o", args.profile], stdout=subprocess.DEVNULL)


# The queries of one send, counted in a process of its own on the seeded install.
QUERY_COUNT = """
import json, sys, uuid
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from chat.services import messages
channel, runs = int(sys.argv[1]), 10
users = list(get_user_model().objects.order_by("pk")[:2])
def send(user):
    return messages.send_message(actor=user, channel_id=channel, content="counted", client_msg_id=uuid.uuid4())
send(users[0]); send(users[1])  # warm: caches and lazy imports
with CaptureQueriesContext(connection) as single:
    for index in range(runs):
        send(users[index % 2])
figures = {"queries_per_send": len(single) / runs}
if hasattr(messages, "send_messages"):  # group commit (issue 18)
    from chat.services.send_batch import SendRequest
    requests = [
        SendRequest(actor=users[index % 2], channel_id=channel, content="batched", client_msg_id=uuid.uuid4())
        for index in range(runs)
    ]
    with CaptureQueriesContext(connection) as batched:
        messages.send_messages(requests)
    figures["queries_per_send_in_a_batch_of_10"] = len(batched) / runs
print(json.dumps(figures))
"""


def count_queries(server: Server, channel: int) -> dict:
    env = {**server.env, "DJANGO_SETTINGS_MODULE": "hobbies.settings"}
    done = subprocess.run(
        [sys.executable, "-c", QUERY_COUNT, str(channel)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        print(done.stderr[-2000:], file=sys.stderr)
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def raw_sqlite(seconds: float) -> dict:
    """The floor of a durable store on this disk: one INSERT and COMMIT per message, WAL, one thread."""
    with tempfile.TemporaryDirectory(prefix="hobbies-bench-raw-") as folder:
        db = sqlite3.connect(Path(folder) / "raw.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, seq INTEGER, client_msg_id TEXT UNIQUE, content TEXT)")
        count, started, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds:
            count += 1
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO m (seq, client_msg_id, content) VALUES (?, ?, ?)", (count, str(uuid.uuid4()), "x"))
            db.execute("COMMIT")
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        db.close()
    return {"messages_per_s": count / elapsed, "server_cpu_ms_per_message": cpu / count * 1000}


def measure(baseline: bool, args) -> dict:
    members = args.senders + args.members
    server = Server(baseline=baseline, stack=args.stack, members=members)
    # Lifted for the benchmark: 10 senders flat out are far past a person's 10 messages/s.
    server.env.update(MESSAGE_RATE_PER_SECOND="1000000", MESSAGE_RATE_BURST="1000000")
    try:
        seeded = server.seed()
        server.start()
        figures = asyncio.run(run_load(server, seeded, args))
        if not baseline and not args.no_queries:
            figures.update(count_queries(server, seeded["channel"]))
    finally:
        server.stop()
    name = "baseline (bare Channels, ack without a database)" if baseline else f"Hobbies Community ({args.stack})"
    mode = f"{args.rate:g} msg/s" if args.rate else f"flat out, window {args.window}"
    print(f"\n{name}: {args.senders} senders ({mode}), {args.members} idle members, {args.seconds:g} s")
    print_figures(figures)
    return figures


def print_figures(figures: dict) -> None:
    for key, value in figures.items():
        print(f"  {key:>36}: {value:,.2f}" if isinstance(value, float) else f"  {key:>36}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100, help="idle members in the channel besides the senders")
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--window", type=int, default=8, help="message.send frames outstanding per sender")
    parser.add_argument("--rate", type=float, default=0.0, help="messages per second in all (default: flat out)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--stack", choices=["sqlite", "postgres-redis"], default="sqlite")
    parser.add_argument("--compare", action="store_true", help="also run the baselines and print ratios")
    parser.add_argument("--profile", help="write py-spy's collapsed stacks of the server (flat out only) here")
    parser.add_argument("--no-queries", action="store_true", help="skip counting the queries of one send")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {load[0]:.2f} {load[1]:.2f}")
    base = raw = None
    if args.compare:
        base = measure(True, args)
        raw = raw_sqlite(min(args.seconds, 5.0))
        print("\nraw sqlite3 (INSERT + COMMIT per message, WAL, in-process)")
        print_figures(raw)
    ours = measure(False, args)
    if base:
        print("\nours / bare Channels (same run):")
        for key in ("messages_per_s", "ack_p50_ms", "ack_p99_ms", "server_cpu_ms_per_message"):
            if base[key]:
                print(f"  {key:>36}: {ours[key] / base[key]:.3g}x")
        print("ours / raw sqlite3 (same run):")
        for key in ("messages_per_s", "server_cpu_ms_per_message"):
            print(f"  {key:>36}: {ours[key] / raw[key]:.3g}x")
    print(f"load at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
