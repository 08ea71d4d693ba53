"""Sending, editing, redacting and deleting messages; slow mode.

Each write happens in one transaction that also records its sequenced stream event, and the
event is sent only after commit (chat/events.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from chat import events, policy
from chat.backends import get_backend
from chat.backends.base import OutgoingMessage
from chat.exceptions import ChannelNotFound, ChatError, InvalidRequest, NotAllowed
from chat.models import Channel, Membership, Message, MessageRevision, ModeratorSeat, Role, StreamEvent
from chat.rendering import render_message
from chat.services import activity, attachments, ratelimit, read_markers, replies, search_index
from chat.services.access import backend_actor, get_channel_access
from chat.services.memberships import BANNED_MESSAGE, join_channel
from chat.services.payloads import message_payload
from chat.services.text import utf8
from chat.streams import StreamKey

MAX_CONTENT_BYTES = 4096
MAX_METADATA_BYTES = 1024
# Missing, or in a stream the person may not read: one answer (the protocol's `not_found`).
MESSAGE_NOT_FOUND = "That message does not exist."
# Written by the server only (the files it checked and attached); a client's is refused.
SERVER_METADATA_KEYS = frozenset({"attachments"})


class MessageRefused(ChatError):
    """A send or edit refused for its content or timing; `code` is the protocol's error code."""

    code = "invalid"
    retry_after: float | None = None


class ContentTooLong(MessageRefused):
    code = "content_too_long"
    default_message = f"A message can be at most {MAX_CONTENT_BYTES} bytes long."


class MetadataTooLong(MessageRefused):
    code = "metadata_too_long"
    default_message = f"Message metadata can be at most {MAX_METADATA_BYTES} bytes."


class EmptyMessage(MessageRefused):
    code = "empty"
    default_message = "Type a message first."


class SlowMode(MessageRefused):
    code = "slow_mode"

    def __init__(self, seconds: int, retry_after: float) -> None:
        super().__init__(f"Slow mode is on: one message every {seconds} seconds. Wait {retry_after:.0f} s.")
        self.retry_after = retry_after


class RateLimited(MessageRefused):
    code = "rate_limited"

    def __init__(self, retry_after: float) -> None:
        super().__init__("You are sending too fast; slow down a little.")
        self.retry_after = retry_after


class Banned(NotAllowed):
    code = "banned"
    default_message = BANNED_MESSAGE


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool


def check_content(content: object, *, with_files: bool = False) -> str:
    if not isinstance(content, str):
        raise MessageRefused("content must be text.")
    if len(utf8(content, "message")) > MAX_CONTENT_BYTES:
        raise ContentTooLong()
    if not content.strip() and not with_files:
        raise EmptyMessage()
    return content


def check_metadata(metadata: object) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise MessageRefused("metadata must be an object.")
    if SERVER_METADATA_KEYS & metadata.keys():
        raise MessageRefused("metadata.attachments is written by the server: list your upload ids in `attachments`.")
    if len(utf8(json.dumps(metadata, separators=(",", ":"), ensure_ascii=False), "metadata")) > MAX_METADATA_BYTES:
        raise MetadataTooLong()
    return metadata


@activity.counts_refusals("send")
def send_message(
    *,
    actor,
    channel_id: int,
    content: str,
    client_msg_id: uuid.UUID,
    metadata: dict | None = None,
    stream: StreamKey | None = None,
    attachment_ids: list | None = None,
    reply_to: int | None = None,
) -> SendResult:
    """Store a message and its `message.created` event; a retry with the same client_msg_id returns the first.

    `attachment_ids` are the sender's finished uploads (chat/services/attachments.py): listed in the
    metadata and attached in the same transaction, so a failed send attaches nothing.
    """
    content = check_content(content, with_files=bool(attachment_ids))
    # The 1024-byte limit is on what the client wrote; the server adds the attachment list.
    metadata = check_metadata(metadata)
    if earlier := _sent_before(actor, client_msg_id):
        return SendResult(earlier, created=False)
    # Per person, whichever tab, worker or page the send comes from; a retry above costs nothing.
    if wait := ratelimit.send_rate().take(actor.pk):
        raise RateLimited(retry_after=wait)
    try:
        with transaction.atomic():
            message = _store_new_message(
                actor, channel_id, content, client_msg_id, metadata, stream, attachment_ids, reply_to=reply_to
            )
    except IntegrityError:
        # The same send arrived twice at once (two tabs, a retry racing the original).
        if earlier := _sent_before(actor, client_msg_id):
            return SendResult(earlier, created=False)
        raise
    return SendResult(message, created=True)


def _sent_before(actor, client_msg_id: uuid.UUID) -> Message | None:
    return Message.objects.with_author().filter(author=actor, client_msg_id=client_msg_id).first()


def _store_new_message(
    actor, channel_id, content, client_msg_id, metadata, requested_stream, attachment_ids, *, reply_to=None
) -> Message:
    access = get_channel_access(actor, channel_id)
    channel = access.channel
    if access.is_banned:
        raise Banned()
    if not policy.can_send(access):
        raise NotAllowed("You cannot send messages in this channel.")
    membership = access.membership or join_channel(actor=actor, channel=channel)
    key = _sending_stream(channel, membership, requested_stream)
    _check_slow_mode(access, channel)
    original = replies.reply_target(access, reply_to, key)
    files = attachments.attachments_for_message(actor=actor, channel=channel, ids=attachment_ids or [])
    if files:
        metadata = {**metadata, "attachments": files}
    # Policy has passed and nothing is written yet: the messaging service takes it first (its
    # MessageId is stored on the row); before the stream's seq is taken, so sends do not queue on it.
    sent = get_backend().send_message(
        OutgoingMessage(
            channel=channel,
            sender=actor,
            content=content,
            client_msg_id=client_msg_id,
            subchannel_id=key.subchannel_id,
            attachment_ids=[item["id"] for item in files],
        )
    )
    rendered = render_message(content, members_among=lambda names: _member_names(channel, names))
    seq = events.next_seq(key)
    message = Message.objects.create(
        channel=channel,
        subchannel_id=key.subchannel_id,
        stream_id=str(key),
        seq=seq,
        author=actor,
        content=content,
        html=rendered.html,
        metadata=metadata,
        client_msg_id=client_msg_id,
        chime_message_id=sent.ref,
        reply_to=original,
    )
    message.author = actor
    activity.message_stored(message)  # the dashboards' rollup; counted and logged after commit
    attachments.attach(actor=actor, message=message, ids=[item["id"] for item in files])
    events.store(key, seq, "message.created", {"channel": channel.pk, "message": message_payload(message)}, message)
    read_markers.advance_marker(actor, key, seq)
    replies.notify_author(message, original)
    search_index.index_message(message.pk, content)
    return message


def _sending_stream(channel: Channel, membership: Membership, requested: StreamKey | None) -> StreamKey:
    if not channel.is_elastic:
        return StreamKey(channel.pk)
    if membership.role == Role.MEMBER:
        return StreamKey(channel.pk, membership.subchannel_id)
    # Moderators sit in any number of sub-channels and say which one they write to.
    seats = set(ModeratorSeat.objects.filter(membership=membership).values_list("subchannel_id", flat=True))
    if requested is not None and requested.channel_id == channel.pk and requested.subchannel_id in seats:
        return requested
    if len(seats) == 1 and requested is None:
        return StreamKey(channel.pk, seats.pop())
    raise InvalidRequest(
        "You read this sub-channel but do not sit in it: join it from the channel's details to write here."
        if requested is not None
        else "You sit in several sub-channels here: choose the one to write in."
    )


def _check_slow_mode(access: policy.ChannelAccess, channel: Channel) -> None:
    if not channel.slow_mode_seconds or access.manages:
        return
    last = (
        Message.objects.filter(channel=channel, author=access.user)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None:
        return
    wait = last + timedelta(seconds=channel.slow_mode_seconds) - timezone.now()
    if wait.total_seconds() > 0:
        raise SlowMode(channel.slow_mode_seconds, wait.total_seconds())


def _member_names(channel: Channel, names) -> set[str]:
    return set(
        Membership.objects.filter(channel=channel)
        .annotate(name=Lower("user__username"))
        .filter(name__in=list(names))
        .values_list("name", flat=True)
    )


@activity.counts_refusals("edit")
def edit_message(*, actor, message_id: int, content: str) -> Message:
    content = check_content(content)
    with transaction.atomic():
        message, access = _message_for_change(actor, message_id)
        if message.author_id != actor.pk:
            raise NotAllowed("You can only edit your own messages.")
        if message.redacted_at is not None:
            raise InvalidRequest("A deleted message cannot be edited.")
        if content == message.content:
            return message
        get_backend().edit_message(message, content, actor=actor)
        MessageRevision.objects.create(message=message, content=message.content, html=message.html)
        rendered = render_message(content, members_among=lambda names: _member_names(access.channel, names))
        message.content, message.html, message.edited_at = content, rendered.html, timezone.now()
        message.save(update_fields=["content", "html", "edited_at"])
        _record_message_event(message, "message.edited")
    return message


def redact_message(*, actor, message_id: int) -> Message:
    """The content goes for good (revisions and replayable copies too); the row and its place stay."""
    with transaction.atomic():
        message, access = _message_for_change(actor, message_id)
        if not policy.can_redact(access, message):
            raise NotAllowed("Only the author or a moderator can delete this message.")
        if message.redacted_at is not None:
            return message
        get_backend().redact_message(message, actor=backend_actor(access))
        message.content, message.html, message.metadata = "", "", {}
        message.redacted_at = timezone.now()
        message.save(update_fields=["content", "html", "metadata", "redacted_at"])
        message.revisions.all().delete()
        message.reactions.all().delete()
        attachments.hide_for_redacted(message=message)
        _scrub_replay(message, message_payload(message))
        replies.scrub_replies_of(message)
        _record_message_event(message, "message.redacted")
    return message


def delete_message(*, actor, message_id: int) -> None:
    """Administrators remove a message entirely; replay keeps only the fact that it was deleted."""
    with transaction.atomic():
        message, access = _message_for_change(actor, message_id)
        if not policy.can_hard_delete(access):
            raise NotAllowed("Only administrators can remove messages entirely.")
        get_backend().delete_message(message)
        key, message_pk, channel_id = StreamKey.parse(message.stream_id), message.pk, message.channel_id
        _scrub_replay(message, {"id": message_pk, "deleted": True})
        replies.scrub_replies_of(message)
        search_index.unindex_message(message_pk)
        attachments.delete_for_message(message=message)
        message.delete()
        events.record(key, "message.deleted", {"channel": channel_id, "message": {"id": message_pk}})


def _message_for_change(actor, message_id: int) -> tuple[Message, policy.ChannelAccess]:
    message = Message.objects.with_author().select_for_update(of=("self",)).filter(pk=message_id).first()
    if message is None or message.stream_id is None:
        raise InvalidRequest(MESSAGE_NOT_FOUND)
    # An invisible channel's message gets the very answer a missing id does: ids reveal nothing.
    try:
        access = get_channel_access(actor, message.channel_id)
    except ChannelNotFound:
        raise InvalidRequest(MESSAGE_NOT_FOUND) from None
    if not policy.can_read_stream(access, StreamKey.parse(message.stream_id)):
        raise InvalidRequest(MESSAGE_NOT_FOUND)
    return message, access


def _record_message_event(message: Message, event_type: str) -> None:
    search_index.index_message(message.pk, message.content, redacted=message.redacted_at is not None)
    body = {"channel": message.channel_id, "message": message_payload(message)}
    events.record(StreamKey.parse(message.stream_id), event_type, body, message)


def _scrub_replay(message: Message, replacement: dict) -> None:
    """Replace the message in every stored event that carries it, so replay cannot resend old text."""
    stored = list(message.events.all())
    for event in stored:
        event.body = {**event.body, "message": replacement}
    StreamEvent.objects.bulk_update(stored, ["body"])


MAX_SLOW_MODE_SECONDS = 3600


def set_slow_mode(*, actor, channel_id: int, seconds: int) -> Channel:
    """Moderators ask members to wait `seconds` between messages (0 turns it off)."""
    if not 0 <= seconds <= MAX_SLOW_MODE_SECONDS:
        raise InvalidRequest(f"Slow mode is between 0 and {MAX_SLOW_MODE_SECONDS} seconds.")
    with transaction.atomic():
        access = get_channel_access(actor, channel_id)
        if not policy.can_edit(access):
            raise NotAllowed("Only moderators and administrators set slow mode.")
        channel = access.channel
        channel.slow_mode_seconds = seconds
        channel.save(update_fields=["slow_mode_seconds"])
        events.publish_on_commit(
            channel, "channel.updated", {"name": channel.name, "mode": channel.mode, "slow_mode_seconds": seconds}
        )
    return channel


def check_typing(*, actor, key: StreamKey) -> None:
    """Whoever may send in a stream may say they are typing there; a banned person may not."""
    access = get_channel_access(actor, key.channel_id)
    if access.is_banned:
        raise Banned()
    if not policy.can_send(access) or not policy.can_read_stream(access, key):
        raise NotAllowed("You cannot send messages in this channel.")
