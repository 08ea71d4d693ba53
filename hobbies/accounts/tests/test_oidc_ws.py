"""WebSockets of an expired OIDC session are closed with 4401 (docs/protocol.md, "Close codes")."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.sessions import SessionMiddlewareStack
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from hobbies.accounts.ws import CLOSE_SESSION_EXPIRED, OidcSessionExpiryMiddleware

OIDC_BACKEND = "hobbies.accounts.oidc.CommunityOIDCBackend"
PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"
pytestmark = pytest.mark.django_db(transaction=True)


class EchoConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=text_data)


@pytest.fixture(autouse=True)
def _oidc_on(settings):
    settings.OIDC_ENABLED = True
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"


def make_session(backend: str, expires_in: float | None) -> SessionStore:
    session = SessionStore()
    session[BACKEND_SESSION_KEY] = backend
    if expires_in is not None:
        session["oidc_id_token_expiration"] = time.time() + expires_in
    session.create()
    return session


def communicator(settings, session: SessionStore | None) -> WebsocketCommunicator:
    app = SessionMiddlewareStack(OidcSessionExpiryMiddleware(EchoConsumer.as_asgi()))
    headers = [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={session.session_key}".encode())] if session else []
    return WebsocketCommunicator(app, "/ws/", headers=headers)


@pytest.mark.parametrize(
    ("backend", "expires_in"),
    [(PASSWORD_BACKEND, None), (OIDC_BACKEND, 600), (None, None)],
    ids=["password-session", "fresh-oidc-session", "no-session"],
)
def test_live_sessions_connect_normally(settings, backend, expires_in):
    session = make_session(backend, expires_in) if backend else None

    async def scenario():
        ws = communicator(settings, session)
        connected, _ = await ws.connect()
        await ws.send_to(text_data="hi")
        echoed = await ws.receive_from()
        await ws.disconnect()
        return connected, echoed

    assert asyncio.run(scenario()) == (True, "hi")


def test_expired_oidc_session_is_accepted_then_closed_with_4401(settings):
    session = make_session(OIDC_BACKEND, expires_in=-1)

    async def scenario():
        ws = communicator(settings, session)
        connected, _ = await ws.connect()
        closed = await ws.receive_output()
        await ws.wait()
        return connected, closed

    assert asyncio.run(scenario()) == (True, {"type": "websocket.close", "code": CLOSE_SESSION_EXPIRED})


def test_open_socket_is_closed_when_its_session_expires(settings):
    session = make_session(OIDC_BACKEND, expires_in=0.5)

    async def scenario():
        ws = communicator(settings, session)
        connected, _ = await ws.connect()
        closed = await ws.receive_output(timeout=5)
        await ws.disconnect()
        return connected, closed

    assert asyncio.run(scenario()) == (True, {"type": "websocket.close", "code": CLOSE_SESSION_EXPIRED})


def test_a_session_renewed_meanwhile_keeps_its_socket(settings):
    session = make_session(OIDC_BACKEND, expires_in=0.5)

    async def scenario():
        ws = communicator(settings, session)
        await ws.connect()
        # The HTML side renews the session (SessionRefresh) before the socket's deadline.
        session["oidc_id_token_expiration"] = time.time() + 600
        await sync_to_async(session.save)()
        await asyncio.sleep(1)
        await ws.send_to(text_data="still here")
        echoed = await ws.receive_from()
        await ws.disconnect()
        return echoed

    assert asyncio.run(scenario()) == "still here"
