"""Emoji reactions on messages: add and remove one's own, moderators clear them (issue 17).

Each change is a sequenced stream event (`reaction.added`, `reaction.removed`, `reaction.cleared`)
recorded in the change's transaction and published after commit, so replay carries it like any
message event. The event carries the message's reactions after the change, so a client that
applies events in order simply replaces its counts.

Each change is made in the messaging backend after policy and before the write (with
MESSAGING_BACKEND=chime, one reaction message: chat/backends/chime/reactions.py); a refusal
there stores nothing. Reactions other Chime clients make arrive through the relay
(chat/services/mirror_reactions.py), which records the same events with `record_event`.
"""

from __future__ import annotations

import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction

from chat import events, policy
from chat.backends import get_backend
from chat.exceptions import ChatError, InvalidRequest, NotAllowed
from chat.models import Message, Reaction
from chat.services.access import get_channel_access
from chat.services.payloads import reaction_summary
from chat.streams import StreamKey

MAX_EMOJI_CHARS = 16
MESSAGE_NOT_FOUND = "That message does not exist."
# What an emoji sequence may hold besides symbols: modifiers, variation selectors, the zero-width
# joiner, keycap marks and the keycap digits.
_JOINERS = frozenset("\u200d\ufe0e\ufe0f\u20e3#*0123456789")
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn", "Me"})


class TooManyReactions(ChatError):
    code = "too_many_reactions"


def check_emoji(emoji: object) -> str:
    """One emoji (a sequence such as 👍🏽 or 👩‍💻 included); anything else is `invalid`."""
    if not isinstance(emoji, str) or not 0 < len(emoji) <= MAX_EMOJI_CHARS:
        raise InvalidRequest("A reaction is one emoji.")
    if not any(unicodedata.category(char) == "So" or char == "\u20e3" for char in emoji):  # a symbol, or a keycap
        raise InvalidRequest("A reaction is one emoji.")
    if not all(char in _JOINERS or unicodedata.category(char) in _EMOJI_CATEGORIES for char in emoji):
        raise InvalidRequest("A reaction is one emoji.")
    return emoji


def add_reaction(*, actor, message_id: int, emoji: str) -> list[dict]:
    """Add `actor`'s `emoji` to the message; adding it again changes nothing. Returns the reactions."""
    emoji = check_emoji(emoji)
    try:
        with transaction.atomic():
            message, access = _message_for_reaction(actor, message_id)
            if not policy.can_react(access, message):
                raise NotAllowed(_refusal(access, message))
            if Reaction.objects.filter(message=message, user=actor, emoji=emoji).exists():
                return reaction_summary(message)
            used = set(Reaction.objects.filter(message=message).values_list("emoji", flat=True))
            if emoji not in used and len(used) >= settings.REACTIONS_PER_MESSAGE:
                raise TooManyReactions(
                    f"A message can carry at most {settings.REACTIONS_PER_MESSAGE} different reactions."
                )
            get_backend().add_reaction(message, emoji, actor=actor)
            Reaction.objects.create(message=message, user=actor, emoji=emoji)
            return record_event(message, "reaction.added", actor, emoji)
    except IntegrityError:  # the same reaction from two tabs at once: the first one stands
        return reaction_summary(Message.objects.get(pk=message_id))


def remove_reaction(*, actor, message_id: int, emoji: str) -> list[dict]:
    """Take back `actor`'s own `emoji`; removing one that is not there changes nothing."""
    emoji = check_emoji(emoji)
    with transaction.atomic():
        message, access = _message_for_reaction(actor, message_id)
        if access.is_banned:
            raise NotAllowed("You are banned from this channel.")
        mine = Reaction.objects.filter(message=message, user=actor, emoji=emoji)
        if not mine.exists():
            return reaction_summary(message)
        get_backend().remove_reaction(message, emoji, actor=actor)
        mine.delete()
        return record_event(message, "reaction.removed", actor, emoji)


def clear_reactions(*, actor, message_id: int) -> list[dict]:
    """Moderators and administrators remove every reaction on a message."""
    with transaction.atomic():
        message, access = _message_for_reaction(actor, message_id)
        if not policy.can_clear_reactions(access):
            raise NotAllowed("Only moderators can clear reactions.")
        every = Reaction.objects.filter(message=message)
        if not every.exists():
            return []
        get_backend().clear_reactions(message)
        every.delete()
        return record_event(message, "reaction.cleared", actor, None)


def _message_for_reaction(actor, message_id: int) -> tuple[Message, policy.ChannelAccess]:
    """The message, locked, with the actor's standing. A channel the actor may not see is
    ChannelNotFound; a missing message or one in a sub-channel they do not read is `not_found` too."""
    message = Message.objects.select_for_update(of=("self",)).filter(pk=message_id).first()
    if message is None or message.stream_id is None:
        raise InvalidRequest(MESSAGE_NOT_FOUND)
    access = get_channel_access(actor, message.channel_id)
    if not policy.can_read_stream(access, StreamKey.parse(message.stream_id)):
        raise InvalidRequest(MESSAGE_NOT_FOUND)
    return message, access


def _refusal(access: policy.ChannelAccess, message: Message) -> str:
    if access.is_banned:
        return "You are banned from this channel."
    if message.redacted_at is not None:
        return "That message has been deleted."
    return "Join this channel to react to its messages."


def record_event(message: Message, event_type: str, actor, emoji: str | None) -> list[dict]:
    """Record `event_type` with the message's reactions after the change; `actor` is who made it
    (None: someone the app does not know, from the messaging service)."""
    reactions = reaction_summary(message)
    body = {
        "channel": message.channel_id,
        "message": {"id": message.pk},
        "user": {"id": actor.pk, "username": actor.username} if actor is not None else None,
        "reactions": reactions,
    }
    if emoji is not None:
        body["emoji"] = emoji
    # Not linked to the message row: redaction rewrites the events that carry its text, and these carry none.
    events.record(StreamKey.parse(message.stream_id), event_type, body)
    return reactions
