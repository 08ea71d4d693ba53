"""Messaging backends: where messages, channels and memberships live besides our database.

``get_backend()`` returns the one chosen by MESSAGING_BACKEND (validated in hobbies/settings.py):
``local`` (chat/backends/local.py, the database is the messaging service) or ``chime``
(chat/backends/chime/, Amazon Chime SDK messaging). Services call it after policy has passed and
before their local writes; see chat/backends/base.py for the contract and docs/chime.md.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed

from chat.backends.base import MessagingBackend


@cache
def _load(name: str) -> MessagingBackend:
    if name == "local":
        from chat.backends.local import LocalBackend

        return LocalBackend()
    if name == "chime":
        from chat.backends.chime import ChimeBackend

        return ChimeBackend.from_settings()
    raise ValueError(f"unknown messaging backend {name!r}")


def get_backend() -> MessagingBackend:
    """The process's backend, built once (its boto3 clients with it)."""
    return _load(settings.MESSAGING_BACKEND)


def reset_backend(**_kwargs) -> None:
    """Forget the built backend (tests change settings; clients follow the environment)."""
    _load.cache_clear()


def _on_setting_changed(*, setting: str, **_kwargs) -> None:
    if setting == "MESSAGING_BACKEND" or setting.startswith("CHIME_"):
        reset_backend()


setting_changed.connect(_on_setting_changed, dispatch_uid="chat.backends.reset")


def ensure_messaging_user(*, user, request=None, method: str = "") -> None:
    """The post-authentication hook (on by default with MESSAGING_BACKEND=chime): the person gets
    their user in the messaging service at sign-in rather than at their first message."""
    get_backend().ensure_user(user)
