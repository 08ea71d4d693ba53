"""Replies (issue 17): which message a new one may reply to, telling the original's author, and
keeping replayable copies honest once the original is redacted or deleted.

A reply carries `reply_to` (chat/services/payloads.py): the original's id, author and a one-line
excerpt, or `deleted: true`. Called by chat/services/messages.py inside its transactions.
"""

from __future__ import annotations

from django.urls import reverse

from chat import events, policy
from chat.exceptions import InvalidRequest
from chat.models import Message, StreamEvent
from chat.streams import StreamKey

MESSAGE_NOT_FOUND = "That message does not exist."


def reply_target(access: policy.ChannelAccess, reply_to: int | None, key: StreamKey) -> Message | None:
    """The message a send in stream `key` replies to: one of the same channel the sender reads and
    that is still there. A missing or unreadable one is `not_found`, like any message id."""
    if reply_to is None:
        return None
    if isinstance(reply_to, bool) or not isinstance(reply_to, int) or reply_to <= 0:
        raise InvalidRequest("`reply_to` must be a message id.")
    original = Message.objects.with_author().filter(pk=reply_to).first()
    if original is None or original.channel_id != key.channel_id or not policy.can_reply_to(access, original):
        raise InvalidRequest(MESSAGE_NOT_FOUND)
    if original.redacted_at is not None:
        raise InvalidRequest("That message has been deleted; there is nothing to reply to.")
    return original


def notify_author(reply: Message, original: Message | None) -> None:
    """The original's author hears of the reply like of a mention: a `reply` notice on their own
    stream (after commit), whichever channel page they have open. Nobody is told of their own reply."""
    if original is None or original.author_id is None or original.author_id == reply.author_id:
        return
    events.notify_user(
        original.author_id,
        {
            "type": "reply",
            "channel": reply.channel_id,
            "stream": reply.stream_id,
            "message": {"id": reply.pk, "reply_to": original.pk},
            "user": {"id": reply.author_id, "username": reply.author.username if reply.author else None},
            "url": reverse("chat-permalink", args=[reply.channel_id, reply.pk]),
        },
    )


def scrub_replies_of(original: Message) -> None:
    """Once `original` is redacted or deleted, its replies' stored events quote nothing of it."""
    gone = {"id": original.pk, "author": None, "excerpt": "", "deleted": True}
    stored = list(StreamEvent.objects.filter(message__reply_to_id=original.pk))
    for event in stored:
        carried = event.body.get("message")
        if isinstance(carried, dict) and carried.get("reply_to"):
            event.body = {**event.body, "message": {**carried, "reply_to": gone}}
    StreamEvent.objects.bulk_update(stored, ["body"])
