"""Signals the accounts send for the rest of the site to act on, without the accounts knowing it.

`access_revoked` (keyword `user_ids`) is sent after commit when accounts can no longer sign in
by a change that sends no model signal (a bulk update: a rejection, a deactivation). The chat
connects to it (chat/realtime/sessions.py) to close those people's open sockets on every worker.
A deactivation saved through the model (user.save()) is seen by post_save as well.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

access_revoked = Signal()


def revoke_on_commit(user_ids: Iterable[int]) -> None:
    """Call inside the transaction that deactivates the accounts."""
    ids = sorted(set(user_ids))
    if ids:
        transaction.on_commit(lambda: access_revoked.send(sender=None, user_ids=ids))
