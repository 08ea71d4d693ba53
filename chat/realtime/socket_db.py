"""The WebSocket side keeps its database connection; HTTP requests do not.

Under ASGI Django runs each HTTP request in a thread of its own, so a connection kept after a
request is never reused and stays open until garbage collection: Django's advice is
CONN_MAX_AGE = 0 there, and settings keep it. Channels runs every socket's database calls on one
thread per process instead, where opening a new connection per call was half the cost of
connecting a socket (docs/performance.md). Connections made for socket work (anything below
SocketDatabaseMiddleware in the ASGI stack) therefore live SOCKET_DB_CONN_MAX_AGE seconds.

Sends from every socket of the process are also written in batches here (`SendBatcher`): that one
thread is what they queue on.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from contextvars import ContextVar

from channels.db import database_sync_to_async
from django.conf import settings

from chat.services import messages as message_service
from chat.services.send_batch import SendOutcome, SendRequest

socket_work: ContextVar[bool] = ContextVar("socket_work", default=False)


class SocketDatabaseMiddleware:
    """Outermost on the WebSocket side: marks the connection's task (and the database calls it
    makes through sync_to_async, which carry its context) as socket work."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        # Each connection runs in a task of its own, so this marks only that connection's work.
        socket_work.set(True)
        return await self.inner(scope, receive, send)


def keep_socket_connection(sender, connection, **kwargs) -> None:
    """connection_created: a connection opened for socket work is reused until its age is up."""
    if socket_work.get():
        connection.close_at = time.monotonic() + settings.SOCKET_DB_CONN_MAX_AGE


MAX_BATCH = 64


class SendBatcher:
    """Group commit for one process's sockets (issue 18): every `message.send` that arrives while
    a batch is being written waits for the next, and each batch is one call on the database thread
    (`messages.send_messages`: one transaction, one statement per kind of row). Nothing waits for a timer:
    a send that finds no batch running starts one at once, so a quiet server answers as before."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self.waiting: list[tuple[SendRequest, asyncio.Future]] = []
        self.running = False
        self.task: asyncio.Task | None = None  # held: the loop keeps only a weak reference to a task

    async def send(self, request: SendRequest) -> SendOutcome:
        """The outcome of this send, once its batch has committed (or failed)."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((request, future))
        if not self.running:
            self.running = True
            self.task = asyncio.get_running_loop().create_task(self._write_batches())
        return await future

    async def _write_batches(self) -> None:
        batch: list[tuple[SendRequest, asyncio.Future]] = []
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[: self.max_batch], self.waiting[self.max_batch :]
                try:
                    outcomes = await database_sync_to_async(message_service.send_messages)([r for r, _ in batch])
                except Exception as error:  # the batch as a whole failed: each of its sends gets the error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():  # its socket may have gone meanwhile
                        future.set_result(outcome)
        finally:
            self.running = False
            for _, future in [*batch, *self.waiting]:  # cancelled (the server stopping): nobody is left hanging
                future.cancel()
            self.waiting = []


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendBatcher] = weakref.WeakKeyDictionary()


def send_batcher() -> SendBatcher:
    """This event loop's batcher (one per process; tests run several loops)."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = SendBatcher()
    return batcher
