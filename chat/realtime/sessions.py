"""A socket ends with the session that opened it (docs/protocol.md, close code 4401).

At once, on every worker: receivers of Django's signals (user_logged_out; a user saved inactive
or deleted; a Session row deleted) and of the accounts' `access_revoked` (rejected or
deactivated in bulk) publish `session.ended` to the person's user group after commit, naming the
session (as a digest) or all of them; each socket concerned closes with 4401 (the consumer's
`session_ended`). As a safety net each socket also re-reads its session every
WS_SESSION_CHECK_SECONDS: a bulk update sends no signal, and a sign-out while Redis was down
reached no other worker. One watch per process does that for all its sockets (`SessionWatch`), a
batch of sessions per database call, instead of a task per socket.

Signing a socket in (`SocketSignInMiddleware`, in place of Channels' AuthMiddleware) reads the
session, the person, when an OIDC session expires and the person's streams with their latest seqs
in one database call, which the OIDC expiry check (hobbies/accounts/ws.py) and the consumer's
connect then use instead of three calls of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import weakref
from collections.abc import Callable
from importlib import import_module

from channels.auth import get_user as channels_get_user
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db.models.signals import post_delete, post_save
from django.utils.crypto import constant_time_compare

from chat import events
from chat.realtime.delivery import WRITE_FRAME
from chat.services import reads
from hobbies.accounts.lifecycle import access_revoked
from hobbies.accounts.oidc import session_expiry
from hobbies.accounts.ws import SESSION_EXPIRY

# The scope key of what the sign-in read for the consumer: (stream keys, {key: last seq}).
STREAMS = "hobbies.streams"
# Sessions read per database call by the watch.
CHECK_BATCH = 500

log = logging.getLogger(__name__)

CLOSE_SIGNED_OUT = 4401


def session_digest(session_key: str | None) -> str | None:
    """How a session is named on the channel layer: never the key itself."""
    if not session_key:
        return None
    return hashlib.sha256(f"hobbies-socket:{session_key}".encode()).hexdigest()[:32]


def end_sessions(user_id: int, session_key: str | None = None) -> None:
    """Close the sockets of one session of `user_id`, or of all their sessions, once this commits."""
    events.notify_user(user_id, {"type": "session.ended", "session": session_digest(session_key)})


def concerns(frame: dict, session_key: str | None) -> bool:
    """Whether a `session.ended` notice names this socket's session (or every session)."""
    return frame.get("session") is None or frame["session"] == session_digest(session_key)


# Receivers (connected in chat/apps.py)


def signed_out(sender, request, user, **kwargs) -> None:
    if user is not None and getattr(request, "session", None) is not None:
        end_sessions(user.pk, request.session.session_key)


def session_deleted(sender, instance: Session, **kwargs) -> None:
    user_id = instance.get_decoded().get(SESSION_KEY)
    if user_id is not None and str(user_id).isdigit():
        end_sessions(int(user_id), instance.session_key)


def user_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    if not created and not instance.is_active and (update_fields is None or "is_active" in update_fields):
        end_sessions(instance.pk)


def user_deleted(sender, instance, **kwargs) -> None:
    end_sessions(instance.pk)


def access_was_revoked(sender, user_ids, **kwargs) -> None:
    for user_id in user_ids:
        end_sessions(user_id)


def connect_receivers() -> None:
    user_model = get_user_model()
    user_logged_out.connect(signed_out, dispatch_uid="chat.sessions.signed_out")
    post_delete.connect(session_deleted, sender=Session, dispatch_uid="chat.sessions.session_deleted")
    post_save.connect(user_saved, sender=user_model, dispatch_uid="chat.sessions.user_saved")
    post_delete.connect(user_deleted, sender=user_model, dispatch_uid="chat.sessions.user_deleted")
    access_revoked.connect(access_was_revoked, dispatch_uid="chat.sessions.access_revoked")


# The safety net: each socket re-reads its session


@database_sync_to_async
def still_signed_in(session_key: str | None, user_id: int) -> bool:
    """Whether the session still signs in `user_id` (as Django's get_user decides for a request);
    without a session (tests hand the consumer a user), whether the account is still active."""
    if session_key is None:
        return get_user_model().objects.filter(pk=user_id, is_active=True).exists()
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key).load()
    backend_path = data.get(BACKEND_SESSION_KEY)
    if str(data.get(SESSION_KEY)) != str(user_id) or backend_path not in settings.AUTHENTICATION_BACKENDS:
        return False
    user = load_backend(backend_path).get_user(user_id)
    if user is None:  # gone, or inactive
        return False
    stored_hash = data.get(HASH_SESSION_KEY)
    return bool(stored_hash) and constant_time_compare(stored_hash, user.get_session_auth_hash())


def signed_in_among(sockets: list[tuple[str | None, int]]) -> list[bool]:
    """`still_signed_in` for many (session key, user id) pairs, in one database call."""
    return [still_signed_in.func(session_key, user_id) for session_key, user_id in sockets]


class SessionWatch:
    """Every socket of this process, its session read again about every WS_SESSION_CHECK_SECONDS:
    one task for the process, each round spread over the period in batches."""

    def __init__(self) -> None:
        self.sockets: dict = {}  # the consumers watched, until they end (a dict: lighter than a WeakSet)
        self.task: asyncio.Task | None = None

    def add(self, consumer) -> None:
        self.sockets[consumer] = None
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, consumer) -> None:
        self.sockets.pop(consumer, None)

    async def _run(self) -> None:
        while self.sockets:
            # Spread out, so sockets opened together do not all read their session at once.
            await asyncio.sleep(settings.WS_SESSION_CHECK_SECONDS * random.uniform(0.8, 1.2))  # noqa: S311
            try:
                await self.check(list(self.sockets))
            except Exception:
                log.exception("event=session_check_failed")

    async def check(self, consumers: list) -> None:
        for start in range(0, len(consumers), CHECK_BATCH):
            batch = [consumer for consumer in consumers[start : start + CHECK_BATCH] if not consumer.ended]
            pairs = [(session_key_of(consumer), consumer.user.pk) for consumer in batch]
            for consumer, signed_in in zip(batch, await database_sync_to_async(signed_in_among)(pairs), strict=True):
                if not signed_in and not consumer.ended:
                    log.info("event=socket_session_ended user=%s by=check", consumer.user.pk)
                    await consumer.end(CLOSE_SIGNED_OUT)


def session_key_of(consumer) -> str | None:
    return getattr(consumer.scope.get("session"), "session_key", None)


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SessionWatch] = weakref.WeakKeyDictionary()


def watch(consumer) -> None:
    """Check the session of `consumer` now and then (until it ends: `unwatch`)."""
    loop = asyncio.get_running_loop()
    session_watch = _watches.get(loop)
    if session_watch is None:
        session_watch = _watches[loop] = SessionWatch()
    session_watch.add(consumer)


def unwatch(consumer) -> None:
    session_watch = _watches.get(asyncio.get_running_loop())
    if session_watch is not None:
        session_watch.discard(consumer)


# Signing a socket in: one database call


def sign_in(scope, gone: Callable[[], bool] | None = None) -> tuple | None:
    """The person of the scope's session (AnonymousUser if none), the session's OIDC expiry, and
    the person's streams with their latest seqs: what the socket's connect needs from the database.
    None, reading nothing, when the connection is `gone` by the time the database thread gets to
    it (daphne gave up on its handshake, or the client did): in a reconnect storm the thread must
    not be spent on sockets that are gone, or every handshake ends up waiting past its timeout."""
    if gone is not None and gone():
        return None
    user = channels_get_user.func(scope)
    session = scope["session"]
    expiry = session_expiry(session) if user.is_authenticated else None
    # A socket needs no more of its session than the key: its checks read the stored session again.
    vars(getattr(session, "_wrapped", session)).pop("_session_cache", None)
    if not user.is_authenticated:
        return user, expiry, None
    keys = reads.member_stream_keys(user)
    return user, expiry, (keys, reads.last_seqs(keys))


class SocketSignInMiddleware:
    """Channels' AuthMiddleware for the sockets, reading in the same database call what the OIDC
    check and the consumer need next (scope: `user`, SESSION_EXPIRY, STREAMS). Inside
    SessionMiddleware; a scope that already has a user (tests) passes through."""

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or "user" in scope:
            return await self.inner(scope, receive, send)
        abandoned = False
        protocol = getattr(scope.get(WRITE_FRAME), "__self__", None)  # the server's, when it has one

        def gone() -> bool:
            return abandoned or (protocol is not None and protocol.state == protocol.STATE_CLOSED)

        try:
            signed_in = await database_sync_to_async(sign_in)(scope, gone)
        except asyncio.CancelledError:
            abandoned = True  # (the call may still be queued for the database thread)
            raise
        if signed_in is None:
            return None
        user, expiry, streams = signed_in
        # Channels' SessionMiddleware above made this scope for this connection alone: no copy.
        scope.update({"user": user, SESSION_EXPIRY: expiry, STREAMS: streams})
        return await self.inner(scope, receive, send)
