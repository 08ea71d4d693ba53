"""The WebSocket side keeps its database connection; HTTP requests do not.

Under ASGI Django runs each HTTP request in a thread of its own, so a connection kept after a
request is never reused and stays open until garbage collection: Django's advice is
CONN_MAX_AGE = 0 there, and settings keep it. Channels runs every socket's database calls on one
thread per process instead, where opening a new connection per call was half the cost of
connecting a socket (docs/performance.md). Connections made for socket work (anything below
SocketDatabaseMiddleware in the ASGI stack) therefore live SOCKET_DB_CONN_MAX_AGE seconds.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from django.conf import settings

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
