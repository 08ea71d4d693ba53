"""A socket ends with the session that opened it (docs/protocol.md, close code 4401).

At once, on every worker: receivers of Django's signals (user_logged_out; a user saved inactive
or deleted; a Session row deleted) and of the accounts' `access_revoked` (rejected or
deactivated in bulk) publish `session.ended` to the person's user group after commit, naming the
session (as a digest) or all of them; each socket concerned closes with 4401 (the consumer's
`session_ended`). As a safety net each socket also re-reads its session every
WS_SESSION_CHECK_SECONDS: a bulk update sends no signal, and a sign-out while Redis was down
reached no other worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.models import Session
from django.db.models.signals import post_delete, post_save
from django.utils.crypto import constant_time_compare

from chat import events
from hobbies.accounts.lifecycle import access_revoked

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


async def check_periodically(consumer) -> None:
    """Run beside a socket: end it when its session no longer signs its person in."""
    session = consumer.scope.get("session")
    session_key = getattr(session, "session_key", None)
    while True:
        # Spread out, so sockets opened together do not all read their session at once.
        await asyncio.sleep(settings.WS_SESSION_CHECK_SECONDS * random.uniform(0.8, 1.2))  # noqa: S311
        try:
            signed_in = await still_signed_in(session_key, consumer.user.pk)
        except Exception:
            log.exception("event=session_check_failed user=%s", consumer.user.pk)
            continue
        if not signed_in:
            log.info("event=socket_session_ended user=%s by=check", consumer.user.pk)
            await consumer.end(CLOSE_SIGNED_OUT)
            return
