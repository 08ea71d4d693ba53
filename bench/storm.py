"""Reconnect storm benchmark: N clients in one channel, the server killed and started again (issue 18).

    .venv/bin/python bench/storm.py --clients 5000

Seeds a fresh SQLite install (or PostgreSQL + Redis with --stack postgres-redis) with one member per
client in "Demo public", starts the server (`python -m hobbies.server`), connects every client
(bench/connections.py's light client, from one asyncio process) and two senders, sends --before
messages at --rate and waits until every client has them. Then it kills the daphne process
(SIGKILL: a worker restart) and starts it again at once, while the senders go on with --during
more messages at --rate from the moment of the kill. Every client does what static/js/messaging.js
does: it keeps each stream's last seq, applies events in order and exactly once, asks `sync` for a
gap, reconnects after 0.5 s, then 1, 2, 4, 5 s, and after `hello` asks `sync` with its last seq;
the senders keep each message until acknowledged and send it again after reconnecting (as
static/js/outbox.js does, with the same client_msg_id). It prints the time from the kill until
every client was connected again and until every client had every acknowledged message, the
messages lost (acknowledged, never applied by a client) and the events received twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.connections import SOCKETS_PER_ADDRESS, load, open_socket, raise_open_files_limit  # noqa: E402
from bench.fanout import Server, cpu_seconds  # noqa: E402

FIRST_RETRY_SECONDS, MAX_RETRY_SECONDS = 0.5, 5.0  # static/js/messaging.js
PRESENCE = '{"type":"presence"'
# A browser waits for a handshake as long as TCP lets it; giving up sooner only adds retries to a storm.
HANDSHAKE_TIMEOUT = 300.0


class Run:
    """What every tab shares: the stream followed, the clock, the counters."""

    def __init__(self, port: int, stream: str) -> None:
        self.port = port
        self.stream = stream
        self.redundant = 0  # events received for a seq already applied (dropped, as the page does)
        self.target = 0  # the highest acknowledged seq
        self.tabs: list[Tab] = []
        self.connects = 0


class Tab:
    """One browser tab: a socket that comes back, its streams' last seqs, and what it still sends."""

    __slots__ = ("applied_at", "connected", "delay", "index", "last", "pending", "run", "session", "socket")

    def __init__(self, run: Run, index: int, session: str) -> None:
        self.run, self.index, self.session = run, index, session
        self.last: int | None = None  # the stream's last seq applied here
        self.applied_at = 0.0  # when `last` last changed
        self.socket = None
        self.connected = False
        self.delay = FIRST_RETRY_SECONDS
        self.pending: dict[str, dict] | None = None  # senders: client_msg_id -> frame, until acked

    async def connect(self) -> None:
        while True:
            try:
                socket, _hello = await open_socket(
                    self.run.port, self.session, self.index, self.on_text, self.on_close, timeout=HANDSHAKE_TIMEOUT
                )
            except (OSError, TimeoutError):
                await asyncio.sleep(self.delay)
                self.delay = min(self.delay * 2, MAX_RETRY_SECONDS)
                continue
            self.socket, self.delay = socket, FIRST_RETRY_SECONDS
            return

    def on_close(self, socket) -> None:
        if socket is not self.socket:
            return
        self.connected = False
        if not getattr(self.run, "stopping", False):
            loop = asyncio.get_running_loop()
            loop.call_later(self.delay, lambda: loop.create_task(self.connect()))
            self.delay = min(self.delay * 2, MAX_RETRY_SECONDS)

    def send(self, frame: dict) -> None:
        if self.connected and self.socket is not None:
            self.socket.send_text(json.dumps(frame))

    def on_text(self, socket, text: str) -> None:
        if text.startswith(PRESENCE):
            return  # (thousands of people coming online: the frames a page only draws, left unparsed)
        frame = json.loads(text)
        kind = frame.get("type")
        if kind == "message.created":
            self.apply(frame["seq"])
        elif kind == "hello":
            self.socket, self.connected = socket, True
            self.run.connects += 1
            head = frame["streams"].get(self.run.stream, 0)
            if self.last is None:
                self.last, self.applied_at = head, time.perf_counter()
            elif head > self.last:
                self.send({"type": "sync", "streams": {self.run.stream: self.last}})
            for pending in (self.pending or {}).values():
                self.send(pending)
        elif kind == "heads":
            if frame["streams"].get(self.run.stream, 0) > (self.last or 0):
                self.send({"type": "sync", "streams": {self.run.stream: self.last}})
        elif kind == "ack" and self.pending is not None:
            self.pending.pop(frame["client_msg_id"], None)
            self.run.target = max(self.run.target, frame["seq"])

    def apply(self, seq: int) -> None:
        if self.last is None:
            return
        if seq <= self.last:
            self.run.redundant += 1
        elif seq > self.last + 1:  # a gap: what is missing comes in order after a sync
            self.send({"type": "sync", "streams": {self.run.stream: self.last}})
        else:
            self.last, self.applied_at = seq, time.perf_counter()

    def submit(self, channel: int, content: str) -> None:
        client_msg_id = str(uuid.uuid4())
        frame = {"type": "message.send", "channel": channel, "content": content, "client_msg_id": client_msg_id}
        self.pending[client_msg_id] = frame
        self.send(frame)


async def until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


_reported = [0.0]


def progress(tabs: list[Tab], since: float) -> bool:
    """Whether every tab is connected; every 5 s, how many are."""
    now = time.perf_counter()
    if now - _reported[0] >= 5.0:
        _reported[0] = now
        back = sum(tab.connected for tab in tabs)
        print(f"  {now - since:5.1f} s after the kill: {back:,} of {len(tabs):,} connected  [{load()}]")
    return all(tab.connected for tab in tabs)


async def send_at_rate(senders: list[Tab], channel: int, count: int, rate: float, label: str) -> None:
    started = time.perf_counter()
    for number in range(count):
        senders[number % len(senders)].submit(channel, f"{label} {number}")
        await asyncio.sleep(max(0.0, started + (number + 1) / rate - time.perf_counter()))


async def storm(server: Server, seeded: dict, args) -> dict:
    stream = str(seeded["channel"])
    run = Run(server.port, stream)
    sessions = seeded["sessions"]
    tabs = [Tab(run, index, session) for index, session in enumerate(sessions)]
    # The senders: two more tabs of the first two people, from their own source addresses' ports.
    senders = [
        Tab(run, len(sessions) + SOCKETS_PER_ADDRESS + index, session) for index, session in enumerate(sessions[:2])
    ]
    for sender in senders:
        sender.pending = {}
    run.tabs = tabs
    gate = asyncio.Semaphore(args.in_flight)

    async def first_connect(tab: Tab) -> None:
        async with gate:
            await tab.connect()

    started = time.perf_counter()
    await asyncio.gather(*(first_connect(tab) for tab in [*tabs, *senders]))
    await until(lambda: all(tab.connected for tab in [*tabs, *senders]), 60)
    connect_seconds = time.perf_counter() - started
    print(f"  {len(tabs):,} clients connected in {connect_seconds:.1f} s  [{load()}]")

    await send_at_rate(senders, seeded["channel"], args.before, args.rate, "before")
    await until(lambda: not any(sender.pending for sender in senders), 30)
    settled = await until(lambda: all(tab.last is not None and tab.last >= run.target for tab in tabs), 60)
    print(f"  {args.before} messages sent, every client has them: {settled}  [{load()}]")

    # The storm: the worker dies, starts again, and everyone comes back while messages go on.
    connects_before = run.connects
    killed_at = time.perf_counter()
    server.process.kill()
    server.process.wait()
    sending = asyncio.create_task(send_at_rate(senders, seeded["channel"], args.during, args.rate, "during"))
    await asyncio.to_thread(server.start)
    restarted_at = time.perf_counter()
    cpu_start = cpu_seconds(server.process.pid)
    print(f"  killed and started again in {restarted_at - killed_at:.1f} s")
    await sending
    sent_at = time.perf_counter()
    all_back = await until(lambda: progress(tabs, killed_at), args.timeout)
    back_at = time.perf_counter()
    acked = await until(lambda: not any(sender.pending for sender in senders), args.timeout)
    caught_up = await until(lambda: all(tab.last >= run.target for tab in tabs), args.timeout)
    cpu_used = cpu_seconds(server.process.pid) - cpu_start
    run.stopping = True
    lost = sum(max(0, run.target - tab.last) for tab in tabs)
    last_applied = max(tab.applied_at for tab in tabs)
    for tab in [*tabs, *senders]:
        if tab.socket is not None:
            tab.socket.close()
    return {
        "clients": len(tabs),
        "connect_s": connect_seconds,
        "restart_s": restarted_at - killed_at,
        "all_reconnected": all_back,
        "reconnected_s": back_at - killed_at,
        "reconnects": run.connects - connects_before,
        "all_sends_acknowledged": acked,
        "all_caught_up": caught_up,
        "last_sent_s": sent_at - killed_at,
        "caught_up_s": last_applied - killed_at,
        "last_seq": run.target,
        "lost": lost,
        "received_twice": run.redundant,
        "server_cpu_s_after_restart": cpu_used,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--before", type=int, default=20, help="messages sent before the restart")
    parser.add_argument("--during", type=int, default=40, help="messages sent from the kill on")
    parser.add_argument("--rate", type=float, default=8.0, help="messages per second")
    parser.add_argument("--in-flight", type=int, default=100, help="first connects under way at once")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the catch-up")
    parser.add_argument("--stack", choices=["sqlite", "postgres-redis"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    limit = raise_open_files_limit()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, open files {limit}  [{load()}]")
    server = Server(baseline=False, stack=args.stack, members=args.clients)
    try:
        seeded = server.seed()
        server.start()
        figures = asyncio.run(storm(server, seeded, args))
    finally:
        server.stop()
    print(f"\nreconnect storm, {args.stack}: {args.clients} clients  [{load()}]")
    for key, value in figures.items():
        shown = value if isinstance(value, bool) else f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
        print(f"  {key:>28}: {shown}")
    print(json.dumps(figures))
    ok = figures["all_caught_up"] and figures["lost"] == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
