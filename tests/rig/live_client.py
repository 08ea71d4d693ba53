"""A browser tab's live client in Python, speaking docs/protocol.md as static/js/messaging.js does.

It applies stream events exactly once and in order (a seq at or below the last one is a
duplicate and dropped; a gap, a `heads` frame past what it has, or a reconnect asks `sync`),
resends its unacknowledged sends with the same client_msg_id after reconnecting, and keeps what
it saw: so multi-process tests (and bench/chaos.py) can compare every tab with the database and
time when a message reached every tab.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


class Tab:
    def __init__(self, port: int, session: str, *, name: str = "") -> None:
        self.port, self.session, self.name = port, session, name or session[:6]
        self.last: dict[str, int] = {}  # stream key -> last seq applied
        self.first: dict[str, int] = {}  # stream key -> seq this tab started after
        self.messages: dict[int, str | None] = {}  # message id -> content (None once redacted)
        self.arrived: dict[str, float] = {}  # content -> when it first reached this tab
        self.pending: dict[str, dict] = {}  # client_msg_id -> send frame, until acknowledged
        self.acked: dict[str, dict] = {}  # client_msg_id -> stored message
        self.refused: dict[str, dict] = {}  # client_msg_id -> error frame
        self.errors: list[dict] = []
        self.closes: list[int | None] = []
        self.heads_seen = 0
        self.socket = None
        self._waiters: dict[str, asyncio.Future] = {}
        self._synced = asyncio.Event()
        self._reader: asyncio.Task | None = None

    @property
    def connected(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def open(self, *, timeout: float = 10) -> None:
        """Connect (or reconnect), read hello, catch up what was missed, resend what is unacknowledged."""
        self.socket = await asyncio.wait_for(
            connect(
                f"ws://127.0.0.1:{self.port}/ws/",
                origin=f"http://127.0.0.1:{self.port}",
                additional_headers={"Cookie": f"sessionid={self.session}"},
                compression=None,
                proxy=None,
                open_timeout=timeout,
            ),
            timeout,
        )
        hello = json.loads(await asyncio.wait_for(self.socket.recv(), timeout))
        assert hello["type"] == "hello", hello
        behind = {}
        for key, seq in hello["streams"].items():
            if key not in self.last:
                self.last[key] = self.first[key] = seq
            elif seq > self.last[key]:
                behind[key] = self.last[key]
        self._reader = asyncio.get_running_loop().create_task(self._read())
        if behind:
            await self.sync(behind)
        for frame in list(self.pending.values()):
            await self._send(frame)

    async def drop(self) -> None:
        """The network goes: the connection is cut without a closing handshake."""
        if self.socket is not None:
            self.socket.transport.abort()
        await self._stopped()

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close()
        await self._stopped()

    async def _stopped(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._reader, 5)
        self._reader = None

    async def send_message(self, channel: int, content: str, *, client_msg_id: str | None = None) -> str:
        """Queue a send (kept until acknowledged, resent on reconnect) and send it if connected."""
        client_msg_id = client_msg_id or str(uuid.uuid4())
        frame = {"type": "message.send", "channel": channel, "content": content, "client_msg_id": client_msg_id}
        self.pending[client_msg_id] = frame
        if self.connected:
            await self._send(frame)
        return client_msg_id

    async def acknowledged(self, client_msg_id: str, timeout: float = 10) -> dict:
        if client_msg_id in self.acked:
            return self.acked[client_msg_id]
        future = self._waiters.setdefault(client_msg_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(future), timeout)

    async def sync(self, streams: dict[str, int] | None = None, *, timeout: float = 10) -> None:
        self._synced.clear()
        await self._send({"type": "sync", "streams": dict(self.last) if streams is None else streams})
        await asyncio.wait_for(self._synced.wait(), timeout)

    async def _send(self, frame: dict) -> None:
        with contextlib.suppress(ConnectionClosed, AttributeError):
            await self.socket.send(json.dumps(frame))

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                await self._apply(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.closes.append(self.socket.close_code)

    async def _apply(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "ack":
            self._acked(frame["client_msg_id"], frame["message"])
        elif kind == "error":
            self.errors.append(frame)
            if frame.get("client_msg_id") in self.pending and frame["code"] not in {"rate_limited", "server_error"}:
                self.refused[frame["client_msg_id"]] = frame
                self.pending.pop(frame["client_msg_id"])
        elif kind == "sync.done":
            self._synced.set()
        elif kind == "heads":
            self.heads_seen += 1
            behind = {key: self.last[key] for key, seq in frame["streams"].items() if seq > self.last.get(key, seq)}
            if behind:
                await self._send({"type": "sync", "streams": behind})
        elif "seq" in frame and "stream" in frame:
            self._stream_event(frame)

    def _acked(self, client_msg_id: str, message: dict) -> None:
        self.pending.pop(client_msg_id, None)
        self.acked[client_msg_id] = message
        waiter = self._waiters.pop(client_msg_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    def _stream_event(self, frame: dict) -> None:
        key, seq = frame["stream"], frame["seq"]
        last = self.last.get(key)
        if last is None or seq <= last:
            return  # not followed, or a duplicate
        if seq > last + 1:
            asyncio.get_running_loop().create_task(self._send({"type": "sync", "streams": {key: last}}))
            return
        self.last[key] = seq
        message = frame.get("message") or {}
        if frame["type"] == "message.deleted":
            self.messages.pop(message["id"], None)
        elif frame["type"].startswith("message."):
            content = None if message.get("redacted") else message.get("content")
            self.messages[message["id"]] = content
            if frame["type"] == "message.created" and content is not None:
                self.arrived.setdefault(content, time.monotonic())


def run_apart(coroutine):
    """asyncio.run in a thread of its own: a Playwright session fixture may own this thread's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
