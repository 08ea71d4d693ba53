"""Reactions from Chime's event stream (issue 17; docs/chime.md, "Replies and reactions").

A reaction travels as a message of its own whose Metadata says ``{"kind": "reaction", "op":
"add"|"remove"|"clear", "target": <MessageId>}`` and whose Content is the emoji
(chat/backends/chime/reactions.py). chat/services/mirror.py hands every such CREATE_CHANNEL_MESSAGE
here: it is applied to its target as a reaction, recorded as the same `reaction.*` stream event a
change made here records, and never stored as a message.

No policy check: Chime has decided. Idempotent, since Kinesis delivers at least once: every
reaction message applied (or sent from here, whose copy comes back on the stream) leaves a marker
keyed by its own MessageId, so reading it again changes nothing; and applying is idempotent on
(target, person, emoji) too. A reaction to a message not here yet is parked (keyed by its target)
and applied when the target arrives; one to a deleted message is dropped.
"""

from __future__ import annotations

import logging

from chat.backends.chime.reactions import OPS, REACTION_KIND, REACTION_SEEN
from chat.backends.chime.records import ChimeMessage
from chat.exceptions import InvalidRequest
from chat.models import ChimeParkedEvent, Message, Reaction
from chat.services.mirror_channels import APPLIED, DUPLICATE, IGNORED, chime_channel, chime_user
from chat.services.reactions import check_emoji, record_event

log = logging.getLogger("chat.services.mirror")

PARKED = "parked"
DELETE = "DELETE_CHANNEL_MESSAGE"
# ChimeParkedEvent.event_type of a reaction waiting for its target (keyed by the target's MessageId).
PARKED_REACTION = "REACTION"
EVENT_TYPES = {"add": "reaction.added", "remove": "reaction.removed", "clear": "reaction.cleared"}


def is_reaction(incoming: ChimeMessage) -> bool:
    return incoming.metadata.get("kind") == REACTION_KIND


def mirror_reaction(incoming: ChimeMessage) -> str:
    """One reaction message of Chime's: applied to its target once, parked, or ignored."""
    op, target = incoming.metadata.get("op"), incoming.metadata.get("target")
    if op not in OPS or not isinstance(target, str) or not target:
        log.warning("event=chime_reaction_unreadable message_id=%s op=%r", incoming.message_id, op)
        return IGNORED
    channel = chime_channel(incoming.channel_arn)
    if channel is None:
        return IGNORED
    # Locked first: our own reaction holds this lock until its marker is committed.
    message = Message.objects.select_for_update(of=("self",)).filter(chime_message_id=target, channel=channel).first()
    seen = ChimeParkedEvent.objects.filter(message_id=incoming.message_id, event_type=REACTION_SEEN)
    if seen.exists():
        return DUPLICATE  # read before, or our own reaction coming back
    ChimeParkedEvent.objects.create(
        message_id=incoming.message_id, event_type=REACTION_SEEN, event_time=incoming.created_at
    )
    if message is not None:
        return _apply(message, incoming)
    if ChimeParkedEvent.objects.filter(message_id=target, event_type=DELETE).exists():
        return DUPLICATE  # its message is deleted: nothing to react to
    ChimeParkedEvent.objects.create(
        message_id=target, event_type=PARKED_REACTION, payload=_payload(incoming), event_time=incoming.created_at
    )
    return PARKED


def apply_parked(message: Message) -> int:
    """The reactions that arrived before `message` (locked by the caller), in the order they were
    made; returns how many changed something."""
    changed = 0
    parked = ChimeParkedEvent.objects.filter(message_id=message.chime_message_id, event_type=PARKED_REACTION)
    for row in parked.order_by("event_time", "pk"):
        changed += _apply(message, ChimeMessage.from_payload(row.payload)) == APPLIED
        row.delete()
    return changed


def _apply(message: Message, incoming: ChimeMessage) -> str:
    op = incoming.metadata.get("op")
    person = chime_user(incoming.sender_arn)
    if op == "clear":
        every = Reaction.objects.filter(message=message)
        if not every.exists():
            return DUPLICATE
        every.delete()
        record_event(message, EVENT_TYPES[op], person, None)
        return APPLIED
    try:
        emoji = check_emoji(incoming.content)
    except InvalidRequest:
        log.warning("event=chime_reaction_not_an_emoji message_id=%s", incoming.message_id)
        return IGNORED
    if person is None:
        return IGNORED  # someone the app does not know: a reaction is a person's
    if op == "add":
        if message.redacted_at is not None:
            return IGNORED  # a redacted message carries no reactions
        _, created = Reaction.objects.get_or_create(message=message, user=person, emoji=emoji)
        if not created:
            return DUPLICATE
    else:
        deleted, _ = Reaction.objects.filter(message=message, user=person, emoji=emoji).delete()
        if not deleted:
            return DUPLICATE
    record_event(message, EVENT_TYPES[op], person, emoji)
    return APPLIED


def _payload(incoming: ChimeMessage) -> dict:
    """What a parked reaction keeps: enough to read it again with ChimeMessage.from_payload."""
    return {
        "ChannelArn": incoming.channel_arn,
        "MessageId": incoming.message_id,
        "Content": incoming.content,
        "Metadata": incoming.metadata,
        "Sender": {"Arn": incoming.sender_arn, "Name": incoming.sender_name},
        "CreatedTimestamp": incoming.created_at.isoformat() if incoming.created_at else None,
        "SubChannelId": incoming.subchannel_id,
    }
