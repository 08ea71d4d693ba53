"""Applying Chime's event stream to our database: the relay-facing services (MESSAGING_BACKEND=chime).

``apply_record`` is what `manage.py chime_relay` (chat/backends/chime/relay.py) calls for each
record of each shard: in one transaction it applies the event and saves the shard's checkpoint,
and the stream events it records (next seq, chat/events.py) are published after that commit, so
browsers receive Chime's changes through the hub with gap-free catch-up, like local ones.

No policy check: Chime has already decided. Every function is idempotent, because Kinesis
delivers at least once and orders only within a shard: a duplicate is a no-op, our own changes
come back as no-ops (the services stored them, with Chime's MessageId, when they made them), and a
message event that arrives before its message is parked (ChimeParkedEvent) until it arrives; a
deletion stays parked as a tombstone so a late copy of the message is not brought back.
A reply names its original's MessageId in its metadata (`reply_to`); an original not here is a
deleted one. Reactions travel as messages of their own, applied by chat/services/mirror_reactions.py.
Channel, membership and sub-channel events are in chat/services/mirror_channels.py.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from chat import events
from chat.attachments.errors import AttachmentError
from chat.backends.chime.reactions import REACTION_SEEN
from chat.backends.chime.records import ChimeEvent, ChimeMessage, ShardPosition, parse_record
from chat.models import (
    ChimeParkedEvent,
    ChimeShardCheckpoint,
    Membership,
    Message,
    MessageRevision,
    SubChannel,
)
from chat.rendering import render_message
from chat.services import attachments, elastic, mirror_reactions, replies, search_index
from chat.services.messages import record_message_event, scrub_replay
from chat.services.mirror_channels import APPLIED, DUPLICATE, HANDLERS, IGNORED, chime_channel, chime_user
from chat.services.payloads import message_payload
from chat.streams import StreamKey

log = logging.getLogger("chat.services.mirror")

PARKED = "parked"
DELETE = "DELETE_CHANNEL_MESSAGE"
# Chime sends this for a message that is only attachments (it wants at least one character).
EMPTY_CONTENT = " "
# Message.reply_to_id of a reply whose original never reached us: no message has this id, so the
# reply shows "(original deleted)", like a reply to a hard-deleted message (chat/services/payloads.py).
MISSING_ORIGINAL = 0


# --- The relay's entry points ---


def apply_record(data: bytes | str | dict, position: ShardPosition | None = None) -> str:
    """Apply one record and save its shard's checkpoint, in one transaction. Returns the outcome
    (applied, duplicate, parked, ignored). RecordError: not a Chime event (the relay skips it)."""
    event = parse_record(data)
    with transaction.atomic():
        outcome = apply_event(event)
        if position is not None:
            save_checkpoint(position)
    return outcome


def apply_event(event: ChimeEvent) -> str:
    handler = MESSAGE_HANDLERS.get(event.event_type) or HANDLERS.get(event.event_type)
    if handler is None:
        return IGNORED
    return handler(event.payload)


def save_checkpoint(position: ShardPosition, *, finished: bool = False) -> None:
    _checkpoint(position.stream_arn, position.shard_id, sequence_number=position.sequence_number, finished=finished)


def _checkpoint(stream_arn: str, shard_id: str, **values) -> None:
    """One UPDATE; update_or_create (4 statements) only when there is no row yet: a shard's first record."""
    rows = ChimeShardCheckpoint.objects.filter(stream_arn=stream_arn, shard_id=shard_id)
    if not rows.update(**values, updated_at=timezone.now()):
        ChimeShardCheckpoint.objects.update_or_create(stream_arn=stream_arn, shard_id=shard_id, defaults=values)


def skip_record(position: ShardPosition) -> None:
    """Move past a record that cannot be applied (the relay has logged why)."""
    with transaction.atomic():
        save_checkpoint(position)


def finish_shard(stream_arn: str, shard_id: str) -> None:
    """A shard closed by a reshard has been read to its end: its children may be read."""
    _checkpoint(stream_arn, shard_id, finished=True)


def checkpoints(stream_arn: str) -> dict[str, tuple[str, bool]]:
    """Each shard's last applied sequence number and whether it is finished."""
    rows = ChimeShardCheckpoint.objects.filter(stream_arn=stream_arn)
    return {
        shard: (sequence, finished)
        for shard, sequence, finished in rows.values_list("shard_id", "sequence_number", "finished")
    }


def prune_parked(*, older_than: timedelta) -> int:
    """Parked events and tombstones older than the stream's retention can never be needed again."""
    deleted, _ = ChimeParkedEvent.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- Messages ---


def mirror_message_created(payload: dict) -> str:
    return mirror_message(ChimeMessage.from_payload(payload))


def mirror_message(incoming: ChimeMessage) -> str:
    """A message Chime holds: stored once (by MessageId), in its latest known version."""
    if incoming.type != "STANDARD" or incoming.persistence != "PERSISTENT":
        return IGNORED  # control messages and unpersisted ones are not history
    if mirror_reactions.is_reaction(incoming):
        return mirror_reactions.mirror_reaction(incoming)  # a reaction, never a message
    existing = Message.objects.select_for_update(of=("self",)).filter(chime_message_id=incoming.message_id).first()
    if existing is not None:
        # Our own send: reactions to it may have arrived before its commit.
        mirror_reactions.apply_parked(existing)
        return _apply_change(existing, incoming) if incoming.redacted or incoming.changed_at else DUPLICATE
    # The tombstone and the events that arrived before the message, in one query.
    parked = ChimeParkedEvent.objects.filter(message_id=incoming.message_id)
    early = list(parked.exclude(event_type=mirror_reactions.PARKED_REACTION).order_by("event_time", "pk"))
    if any(row.event_type == DELETE for row in early):
        return DUPLICATE  # deleted already (here, or its deletion arrived first)
    channel = chime_channel(incoming.channel_arn)
    if channel is None:
        return IGNORED
    author = chime_user(incoming.sender_arn)
    try:
        with transaction.atomic():
            message = _store(channel, author, incoming)
    except IntegrityError:
        # Our own send, committed a moment ago with the same MessageId or client_msg_id.
        for ours in Message.objects.select_for_update(of=("self",)).filter(chime_message_id=incoming.message_id):
            mirror_reactions.apply_parked(ours)  # reactions to it read before its commit
        return DUPLICATE
    for row in early:
        redact = row.event_type == "REDACT_CHANNEL_MESSAGE"
        _apply_change(message, ChimeMessage.from_payload(row.payload), redact=redact)
        row.delete()
    mirror_reactions.apply_parked(message)
    return APPLIED


def _store(channel, author, incoming: ChimeMessage) -> Message:
    key = _stream_for(channel, incoming.subchannel_id)
    files = _attachments(author, channel, incoming.metadata.get("attachments"))
    original, original_id = _original(channel, incoming.metadata.get("reply_to"))
    content = "" if files and incoming.content == EMPTY_CONTENT else incoming.content
    rendered = render_message(content, members_among=lambda names: _member_names(channel, names))
    seq = events.next_seq(key)
    message = Message(
        channel=channel,
        subchannel_id=key.subchannel_id,
        stream_id=str(key),
        seq=seq,
        author=author,
        content=content,
        html=rendered.html,
        metadata={"attachments": files} if files else {},
        client_msg_id=_uuid(incoming.client_msg_id) if author is not None else None,
        chime_message_id=incoming.message_id,
        chime_updated_at=incoming.changed_at,
        reply_to_id=original_id,
        # History keeps Chime's time of sending (a message rebuilt from Chime may arrive late).
        created_at=incoming.created_at or timezone.now(),
    )
    # raw: saved exactly as given (auto_now_add would replace created_at), in one INSERT.
    message.save_base(raw=True, force_insert=True)
    if files:
        attachments.attach(actor=author, message=message, ids=[item["id"] for item in files])
    message._prefetched_objects_cache = {"reactions": ()}  # inserted a moment ago: none to ask for
    body = {"channel": channel.pk, "message": message_payload(message)}
    del message._prefetched_objects_cache
    events.store(key, seq, "message.created", body, message)
    search_index.index_message(message.pk, message.content)
    replies.notify_author(message, original)
    if incoming.redacted:
        _redact(message, incoming)
    return message


def _original(channel, chime_id) -> tuple[Message | None, int | None]:
    """The message a reply names by its Chime MessageId (`reply_to` in its metadata) and the id to
    store: ours, the id it had if it was deleted here, or MISSING_ORIGINAL if it never reached us."""
    if not isinstance(chime_id, str) or not chime_id:
        return None, None
    original = Message.objects.with_author().filter(chime_message_id=chime_id, channel=channel).first()
    if original is not None:
        return original, original.pk
    tombstone = ChimeParkedEvent.objects.filter(message_id=chime_id, event_type=DELETE).first()
    known = tombstone.payload.get("pk") if tombstone is not None else None
    return None, known if isinstance(known, int) else MISSING_ORIGINAL


def _stream_for(channel, chime_subchannel_id: str | None) -> StreamKey:
    if not channel.is_elastic:
        return StreamKey(channel.pk)
    if chime_subchannel_id:
        return StreamKey(channel.pk, elastic.subchannel_for_backend_id(channel, chime_subchannel_id).pk)
    first = SubChannel.objects.filter(channel=channel, is_open=True).order_by("number").values_list("pk", flat=True)
    return StreamKey(channel.pk, first.first())


def _attachments(author, channel, listed) -> list[dict]:
    """Our uploads a message names (our own send whose local commit failed); others' lists are not ours."""
    if author is None or not isinstance(listed, list) or not listed:
        return []
    try:
        return attachments.attachments_for_message(actor=author, channel=channel, ids=listed)
    except AttachmentError:
        log.warning("event=chime_mirror_attachments_dropped channel=%s ids=%s", channel.pk, listed)
        return []


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _member_names(channel, names) -> set[str]:
    rows = Membership.objects.filter(channel=channel).annotate(name=Lower("user__username"))
    return set(rows.filter(name__in=list(names)).values_list("name", flat=True))


def mirror_message_updated(payload: dict) -> str:
    return _change(payload, "UPDATE_CHANNEL_MESSAGE")


def mirror_message_redacted(payload: dict) -> str:
    return _change(payload, "REDACT_CHANNEL_MESSAGE")


def _change(payload: dict, event_type: str) -> str:
    incoming = ChimeMessage.from_payload(payload)
    message = Message.objects.select_for_update(of=("self",)).filter(chime_message_id=incoming.message_id).first()
    if message is not None:
        return _apply_change(message, incoming, redact=event_type == "REDACT_CHANNEL_MESSAGE")
    parked = ChimeParkedEvent.objects.filter(message_id=incoming.message_id)
    if parked.filter(event_type=REACTION_SEEN).exists():
        return IGNORED  # a reaction message changed in Chime: the reaction stays as it was
    if parked.filter(event_type=DELETE).exists() or parked.filter(event_type=event_type, payload=payload).exists():
        return DUPLICATE
    ChimeParkedEvent.objects.create(
        message_id=incoming.message_id, event_type=event_type, payload=payload, event_time=incoming.changed_at
    )
    return PARKED


def _apply_change(message: Message, incoming: ChimeMessage, *, redact: bool = False) -> str:
    if message.redacted_at is not None:
        return DUPLICATE  # redaction is final: an older edit arriving late changes nothing
    if redact or incoming.redacted:
        _redact(message, incoming)
        return APPLIED
    content = "" if message.metadata.get("attachments") and incoming.content == EMPTY_CONTENT else incoming.content
    newer = incoming.changed_at
    seen = message.chime_updated_at
    if content == message.content or (seen and newer and newer <= seen) or _echo(message, content, newer):
        if newer and (seen is None or newer > seen):
            Message.objects.filter(pk=message.pk).update(chime_updated_at=newer)
        return DUPLICATE
    MessageRevision.objects.create(message=message, content=message.content, html=message.html)
    rendered = render_message(content, members_among=lambda names: _member_names(message.channel, names))
    message.content, message.html = content, rendered.html
    message.edited_at = newer or timezone.now()
    message.chime_updated_at = newer
    message.save(update_fields=["content", "html", "edited_at", "chime_updated_at"])
    record_message_event(message, "message.edited")
    return APPLIED


def _echo(message: Message, content: str, newer) -> bool:
    """An edit made through our app comes back from Chime: older than the message's last edit here
    and with a text it had before, it is that earlier edit, not a new one."""
    if message.edited_at is None or newer is None or newer > message.edited_at:
        return False
    return message.revisions.filter(content=content).exists()


def _redact(message: Message, incoming: ChimeMessage) -> None:
    message.content, message.html, message.metadata = "", "", {}
    message.redacted_at = incoming.changed_at or timezone.now()
    message.chime_updated_at = incoming.changed_at
    message.save(update_fields=["content", "html", "metadata", "redacted_at", "chime_updated_at"])
    message.revisions.all().delete()
    message.reactions.all().delete()
    attachments.hide_for_redacted(message=message)
    scrub_replay(message, message_payload(message))
    replies.scrub_replies_of(message)
    record_message_event(message, "message.redacted")


def mirror_message_deleted(payload: dict) -> str:
    incoming = ChimeMessage.from_payload(payload)
    tombstone = ChimeParkedEvent.objects.filter(message_id=incoming.message_id, event_type=DELETE)
    message = Message.objects.select_for_update(of=("self",)).filter(chime_message_id=incoming.message_id).first()
    if message is None:
        if tombstone.exists():
            return DUPLICATE
        # Not here yet (or never will be): a tombstone, so its late creation is not applied.
        ChimeParkedEvent.objects.filter(message_id=incoming.message_id).exclude(event_type=REACTION_SEEN).delete()
        ChimeParkedEvent.objects.create(
            message_id=incoming.message_id, event_type=DELETE, payload=payload, event_time=incoming.changed_at
        )
        return PARKED
    key, message_pk, channel_id = StreamKey.parse(message.stream_id), message.pk, message.channel_id
    scrub_replay(message, {"id": message_pk, "deleted": True})
    replies.scrub_replies_of(message)
    search_index.unindex_message(message_pk)
    attachments.delete_for_message(message=message)
    message.delete()
    events.record(key, "message.deleted", {"channel": channel_id, "message": {"id": message_pk}})
    # Our id stays with the tombstone: a reply to the message arriving later refers to it.
    ChimeParkedEvent.objects.create(
        message_id=incoming.message_id, event_type=DELETE, payload={"pk": message_pk}, event_time=incoming.changed_at
    )
    return APPLIED


MESSAGE_HANDLERS = {
    "CREATE_CHANNEL_MESSAGE": mirror_message_created,
    "UPDATE_CHANNEL_MESSAGE": mirror_message_updated,
    "REDACT_CHANNEL_MESSAGE": mirror_message_redacted,
    "DELETE_CHANNEL_MESSAGE": mirror_message_deleted,
}
