"""Channels middleware: a WebSocket never outlives the OIDC session it was opened with.

HTML pages renew an OIDC session through mozilla-django-oidc's SessionRefresh middleware, which
a WebSocket cannot follow (no redirects). So a socket of an expired session is accepted and closed
at once with CLOSE_SESSION_EXPIRED, and an open socket is closed with it when its session expires
without having been renewed meanwhile; the page then reloads, which renews the session. Sessions
signed in with a password pass through untouched. docs/protocol.md, "Close codes", documents it.

Wire it inside the session/auth stack: AuthMiddlewareStack(OidcSessionExpiryMiddleware(URLRouter(...))).
"""

from __future__ import annotations

import asyncio
import time
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings

from hobbies.accounts.oidc import session_expiry

CLOSE_SESSION_EXPIRED = 4401
# The scope key of the session's expiry when a middleware above read it already (None: not OIDC).
SESSION_EXPIRY = "hobbies.session_expiry"


@database_sync_to_async
def _expiry(session) -> float | None:
    return session_expiry(session)


@database_sync_to_async
def _stored_expiry(session_key: str | None) -> float | None:
    # A fresh read: the HTML side may have renewed the session since the socket opened.
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    return session_expiry(store)


class OidcSessionExpiryMiddleware:
    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        session = scope.get("session")
        if scope["type"] != "websocket" or session is None:
            return await self.inner(scope, receive, send)
        expiry = scope[SESSION_EXPIRY] if SESSION_EXPIRY in scope else await _expiry(session)
        if expiry is None:
            return await self.inner(scope, receive, send)
        if expiry <= time.time():
            return await self._close_expired(receive, send)
        watchdog = asyncio.ensure_future(self._close_on_expiry(session.session_key, expiry, send))
        try:
            return await self.inner(scope, receive, send)
        finally:
            watchdog.cancel()

    @staticmethod
    async def _close_expired(receive, send) -> None:
        # Accept first: a close before the handshake completes reaches the browser as a bare 403,
        # without the code that tells the page to renew its session.
        if (await receive())["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_SESSION_EXPIRED})

    @staticmethod
    async def _close_on_expiry(session_key: str | None, expiry: float, send) -> None:
        while expiry is not None and expiry > time.time():
            await asyncio.sleep(expiry - time.time())
            expiry = await _stored_expiry(session_key)
        # The server then tells the consumer websocket.disconnect, as for any close.
        await send({"type": "websocket.close", "code": CLOSE_SESSION_EXPIRED})
