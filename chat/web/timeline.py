"""How a page of messages reads: a day separator where the day changes, and messages from the same
author within GROUP_SECONDS grouped under one name and avatar. In the server's time zone here, for
the page without JavaScript; static/js/timeline.js does it again in the reader's own zone."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from chat.models import Message

GROUP_SECONDS = 5 * 60


def decorate(messages: Iterable[Message], *, first_unread_seq: int | None = None) -> list[Message]:
    previous: Message | None = None
    shown = []
    for message in messages:
        local = timezone.localtime(message.created_at)
        message.day_start = previous is None or local.date() != timezone.localtime(previous.created_at).date()
        message.continues = (
            previous is not None
            and not message.day_start
            and message.author_id is not None
            and message.author_id == previous.author_id
            and message.seq != first_unread_seq
            and (message.created_at - previous.created_at).total_seconds() < GROUP_SECONDS
        )
        previous = message
        shown.append(message)
    return shown
