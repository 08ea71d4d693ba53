"""Connections benchmark: N idle WebSockets on one daphne process (issue 18, goal 3).

    .venv/bin/python bench/connections.py --sockets 10000 --compare

Seeds a fresh SQLite install (or PostgreSQL + Redis with --stack postgres-redis) with one member per
socket in "Demo public" (`manage.py seed_demo --sessions`), starts the server (`python -m
hobbies.server`), then opens the sockets from this one asyncio process with a light client (an
asyncio Protocol per socket speaking just enough RFC 6455: the upgrade, reading frames, answering
pings; no task per socket), at most --in-flight handshakes at a time, spread over several loopback
source addresses (127.0.0.2, 127.0.0.3, ...) so that ports never run short. It prints how fast they
connected (handshake to `hello`), the server's CPU per connect, and the server's RSS before and
after: memory per idle connection. --compare runs the same against bench/baseline_app.py first
(bare Channels, no database) and prints ours/baseline ratios. bench/storm.py reuses the client.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout import Server, cpu_seconds, rss_kib  # noqa: E402

SOCKETS_PER_ADDRESS = 20000  # source ports per loopback address (the ephemeral range is about 28,000)


def raise_open_files_limit() -> int:
    """As many open files as the hard limit allows (the server started from here inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def source_address(index: int) -> str:
    """The loopback address socket `index` connects from: 127.0.0.2 for the first SOCKETS_PER_ADDRESS, ..."""
    return f"127.0.0.{2 + index // SOCKETS_PER_ADDRESS}"


def client_frame(text: str, opcode: int = 1) -> bytes:
    """A masked client frame (RFC 6455 5.3): text by default, or a control frame."""
    payload = text.encode() if isinstance(text, str) else text
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    key = (mask * (length // 4 + 1))[:length]
    return header + mask + (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")


class LightSocket(asyncio.Protocol):
    """One WebSocket client without a task: the upgrade, then each text frame to `on_text`."""

    __slots__ = ("buffer", "closed", "on_close", "on_text", "opened", "request", "transport", "upgraded")

    def __init__(self, request: bytes, on_text: Callable[[LightSocket, str], None], on_close=None) -> None:
        self.request = request
        self.on_text = on_text
        self.on_close = on_close
        self.buffer = b""
        self.upgraded = False
        self.transport = None
        self.opened = asyncio.get_running_loop().create_future()  # set at the first text frame (hello)
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def send_text(self, text: str) -> None:
        if not self.closed:
            self.transport.write(client_frame(text))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.abort()

    def connection_lost(self, exc) -> None:
        self.closed = True
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before hello: {exc!r}"))
        if self.on_close is not None:
            self.on_close(self)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if not self.upgraded:
            head, separator, rest = buffer.partition(b"\r\n\r\n")
            if not separator:
                self.buffer = buffer
                return
            if not head.startswith(b"HTTP/1.1 101"):
                self.buffer = b""
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                self.close()
                return
            self.upgraded, buffer = True, rest
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1] & 0x7F
            start = 2
            if second == 126:
                if len(buffer) < 4:
                    break
                (second,) = struct.unpack_from("!H", buffer, 2)
                start = 4
            elif second == 127:
                if len(buffer) < 10:
                    break
                (second,) = struct.unpack_from("!Q", buffer, 2)
                start = 10
            end = start + second
            if len(buffer) < end:
                break
            opcode, payload, buffer = first & 0x0F, buffer[start:end], buffer[end:]
            if opcode == 1:
                text = payload.decode()
                if not self.opened.done():
                    self.opened.set_result(text)
                self.on_text(self, text)
            elif opcode == 9:  # ping: pong with its data
                self.transport.write(client_frame(payload, 0xA))
            elif opcode == 8:
                self.close()
                return
        self.buffer = buffer


def upgrade_request(port: int, session: str | None) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ws/ HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: http://127.0.0.1:{port}",
    ]
    if session:
        lines.append(f"Cookie: sessionid={session}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def open_socket(
    port: int, session: str | None, index: int, on_text=None, on_close=None, timeout: float = 60.0
) -> tuple[LightSocket, str]:
    """A connected socket and its `hello` text."""
    loop = asyncio.get_running_loop()
    _transport, socket = await loop.create_connection(
        lambda: LightSocket(upgrade_request(port, session), on_text or (lambda socket, text: None), on_close),
        "127.0.0.1",
        port,
        local_addr=(source_address(index), 0),
    )
    try:
        hello = await asyncio.wait_for(socket.opened, timeout)
    except BaseException:
        socket.close()
        raise
    return socket, hello


async def open_many(port: int, sessions: list, in_flight: int, *, on_text=None, on_close=None) -> tuple[list, int]:
    """Open one socket per session, at most `in_flight` handshakes at a time: (sockets, failures)."""
    gate = asyncio.Semaphore(in_flight)
    sockets: list = [None] * len(sessions)
    failures = 0

    async def one(index: int, session) -> None:
        nonlocal failures
        async with gate:
            try:
                sockets[index], _hello = await open_socket(port, session, index, on_text, on_close)
            except (OSError, TimeoutError) as error:
                failures += 1
                if failures <= 3:
                    print(f"  connect {index} failed: {error!r}", file=sys.stderr)

    await asyncio.gather(*(one(index, session) for index, session in enumerate(sessions)))
    return sockets, failures


async def measure_connections(server: Server, sessions: list, args) -> dict:
    pid = server.process.pid
    # Warm up (lazy imports, the first database connection, the hub), then forget those sockets.
    warm, _ = await open_many(server.port, sessions[:20], 20)
    for socket in warm:
        if socket is not None:
            socket.close()
    await asyncio.sleep(2.0)
    rss_before, cpu_before = rss_kib(pid), cpu_seconds(pid)
    started = time.perf_counter()
    sockets, failures = await open_many(server.port, sessions, args.in_flight)
    seconds = time.perf_counter() - started
    cpu_used = cpu_seconds(pid) - cpu_before
    await asyncio.sleep(args.settle)
    rss_after = rss_kib(pid)
    opened = sum(socket is not None and not socket.closed for socket in sockets)
    for socket in sockets:
        if socket is not None:
            socket.close()
    return {
        "sockets": len(sessions),
        "open_after_settling": opened,
        "failed": failures,
        "connect_s": seconds,
        "connects_per_s": len(sessions) / seconds,
        "server_cpu_ms_per_connect": cpu_used / max(1, len(sessions)) * 1000,
        "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024,
        "kib_per_connection": (rss_after - rss_before) / max(1, opened),
    }


def measure(baseline: bool, args) -> dict:
    server = Server(baseline=baseline, stack=args.stack, members=args.sockets)
    try:
        seeded = server.seed()
        server.start()
        figures = asyncio.run(measure_connections(server, seeded["sessions"], args))
    finally:
        server.stop()
    name = "baseline (bare Channels)" if baseline else f"Hobbies Community ({args.stack})"
    print(f"\n{name}: {args.sockets} idle sockets, {args.in_flight} handshakes at a time  [{load()}]")
    for key, value in figures.items():
        print(f"  {key:>26}: {value:,.1f}" if isinstance(value, float) else f"  {key:>26}: {value:,}")
    return figures


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=10000)
    parser.add_argument("--in-flight", type=int, default=100, help="handshakes under way at once")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before reading the RSS")
    parser.add_argument("--stack", choices=["sqlite", "postgres-redis"], default="sqlite")
    parser.add_argument("--compare", action="store_true", help="also run the bare-Channels baseline and print ratios")
    args = parser.parse_args()
    limit = raise_open_files_limit()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, open files {limit}  [{load()}]")
    if limit < args.sockets + 100:
        sys.exit(f"{args.sockets} sockets need more open files than {limit} (ulimit -Hn)")
    base = measure(True, args) if args.compare else None
    ours = measure(False, args)
    if base:
        print("\nours / baseline (same run):")
        for key in ("connects_per_s", "server_cpu_ms_per_connect", "kib_per_connection"):
            if base[key]:
                print(f"  {key:>26}: {ours[key] / base[key]:.3g}x")
    print(json.dumps({"baseline": base, "ours": ours}))


if __name__ == "__main__":
    main()
