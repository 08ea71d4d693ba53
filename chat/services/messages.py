"""Sending, editing, redacting and deleting messages; slow mode.

Each write happens in one transaction that also records its sequenced stream event, and the
event is sent only after commit (chat/events.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from chat import events, policy
from chat.backends import get_backend
from chat.backends.base import OutgoingMessage
from chat.exceptions import ChannelNotFound, ChatError, InvalidRequest, NotAllowed
from chat.models import Channel, Membership, Message, MessageRevision, ModeratorSeat, Role, StreamEvent
from chat.rendering import render_message
from chat.services import activity, attachments, ratelimit, replies, search_index
from chat.services.access import backend_actor, get_channel_access
from chat.services.memberships import BANNED_MESSAGE, join_channel
from chat.services.payloads import message_payload
from chat.services.send_batch import Draft, SendOutcome, SendRequest, SendResult, earlier_sends, refused, store_batch
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
    request = SendRequest(actor, channel_id, content, client_msg_id, metadata, stream, attachment_ids, reply_to)
    outcome = send_messages([request])[0]
    if outcome.error is not None:
        raise outcome.error
    return outcome.result


def send_messages(requests: list[SendRequest]) -> list[SendOutcome]:
    """Store several sends in one transaction (group commit, chat/services/send_batch.py): one
    outcome per request, in order. Each send is checked on its own, then the batch is written with
    one statement per kind of row (one savepoint per send should one fail): one refused or failing
    send gets its error and the others are stored; all commit together, and each is published after
    that commit. Refusals are counted (activity) like those of one send."""
    outcomes = [SendOutcome() for _ in requests]
    earlier = earlier_sends(requests)
    first_of: dict[tuple, int] = {}  # the same send twice in one batch (a retry racing the original)
    pending: list[tuple[int, SendRequest]] = []
    for index, request in enumerate(requests):
        try:
            content = check_content(request.content, with_files=bool(request.attachment_ids))
            # The 1024-byte limit is on what the client wrote; the server adds the attachment list.
            metadata = check_metadata(request.metadata)
            if (found := earlier.get(request.identity)) is not None:
                outcomes[index].result = SendResult(found, created=False, payload=message_payload(found))
                continue
            if request.identity in first_of:
                continue  # answered below, as its original
            # Per person, whichever tab, worker or page the send comes from; a retry above costs nothing.
            if wait := ratelimit.send_rate().take(request.actor.pk):
                raise RateLimited(retry_after=wait)
        except Exception as error:
            refused(outcomes[index], request, error)
            continue
        first_of[request.identity] = index
        pending.append((index, replace(request, content=content, metadata=metadata)))
    if pending:
        with events.publishing_together():  # after the commit, every message in one hop to the loop
            store_batch(pending, outcomes, _draft)
    for index, request in enumerate(requests):
        first = first_of.get(request.identity)
        if first is not None and first != index and outcomes[index].result is None and outcomes[index].error is None:
            done = outcomes[first]
            outcomes[index].error = done.error
            if done.result is not None:
                outcomes[index].result = replace(done.result, created=False)
    return outcomes


def _draft(request: SendRequest, access: policy.ChannelAccess, sent=None) -> Draft:
    """One send of a batch checked, its row built but not written (send_batch.write_drafts does);
    `sent`: the backend's answer when the batch is stored again."""
    actor, content, client_msg_id, metadata = request.actor, request.content, request.client_msg_id, request.metadata
    channel = access.channel
    if access.is_banned:
        raise Banned()
    if not policy.can_send(access):
        raise NotAllowed("You cannot send messages in this channel.")
    membership = access.membership or join_channel(actor=actor, channel=channel)
    key = _sending_stream(channel, membership, request.stream)
    _check_slow_mode(access, channel)
    original = replies.reply_target(access, request.reply_to, key)
    files = attachments.attachments_for_message(actor=actor, channel=channel, ids=request.attachment_ids or [])
    if files:
        metadata = {**metadata, "attachments": files}
    # Policy has passed and nothing is written yet: the messaging service takes it first (its
    # MessageId is stored on the row); before the stream's seq is taken, so sends do not queue on it.
    if sent is None:
        sent = get_backend().send_message(
            OutgoingMessage(
                channel=channel,
                sender=actor,
                content=content,
                client_msg_id=client_msg_id,
                subchannel_id=key.subchannel_id,
                attachment_ids=[item["id"] for item in files],
                reply_to=original,
            )
        )
    rendered = render_message(content, members_among=lambda names: _member_names(channel, names))
    message = Message(
        channel=channel,
        subchannel_id=key.subchannel_id,
        stream_id=str(key),
        author=actor,
        content=content,
        html=rendered.html,
        metadata=metadata,
        client_msg_id=client_msg_id,
        chime_message_id=sent.ref,
        reply_to=original,
    )
    return Draft(key, message, original, files, sent)


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
        record_message_event(message, "message.edited")
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
        scrub_replay(message, message_payload(message))
        replies.scrub_replies_of(message)
        record_message_event(message, "message.redacted")
    return message


def delete_message(*, actor, message_id: int) -> None:
    """Administrators remove a message entirely; replay keeps only the fact that it was deleted."""
    with transaction.atomic():
        message, access = _message_for_change(actor, message_id)
        if not policy.can_hard_delete(access):
            raise NotAllowed("Only administrators can remove messages entirely.")
        get_backend().delete_message(message)
        key, message_pk, channel_id = StreamKey.parse(message.stream_id), message.pk, message.channel_id
        scrub_replay(message, {"id": message_pk, "deleted": True})
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


def record_message_event(message: Message, event_type: str) -> None:
    search_index.index_message(message.pk, message.content, redacted=message.redacted_at is not None)
    body = {"channel": message.channel_id, "message": message_payload(message)}
    events.record(StreamKey.parse(message.stream_id), event_type, body, message)


def scrub_replay(message: Message, replacement: dict) -> None:
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
