"""What a messaging backend does for the services, and the one error of its own it raises.

The services decide (chat/policy.py), then call the backend, then write the database and
announce (chat/events.py). A backend therefore never decides permissions and never publishes:
it carries out a change that policy has already allowed in the messaging service (for the local
backend, the database itself, so there is nothing to do), and either returns what the local
write needs (ids) or raises. A refusal raises the domain error the local backend would have
raised (chat.exceptions); a service that cannot answer now raises ``BackendUnavailable``.

``actor`` is the person on whose behalf a call is made; ``None`` means the app itself, for the
administrative calls policy allows an administrator who holds no role in the channel.
"""

from __future__ import annotations

import abc
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chat.exceptions import ChatError

if TYPE_CHECKING:
    from chat.models import Channel, Message, SubChannel


class BackendUnavailable(ChatError):
    """The messaging service could not take the change now (throttled, down): nothing was written."""

    default_message = "The messaging service is busy right now. Try again in a moment."
    code = "unavailable"  # the protocol's error code (docs/protocol.md): the client may retry
    retry_after = 2.0


@dataclass(frozen=True)
class CreatedChannel:
    """What the backend gave a new channel: its id there, and the sub-channels it already has."""

    ref: str | None = None
    subchannel_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutgoingMessage:
    """A send that policy allowed, checked against our limits, before it is stored."""

    channel: Channel
    sender: object
    content: str
    client_msg_id: uuid.UUID
    # Our sub-channel (SubChannel pk) the message goes to in an elastic channel.
    subchannel_id: int | None = None
    attachment_ids: list[int] = field(default_factory=list)
    # The message this one replies to (issue 17), if any.
    reply_to: Message | None = None


@dataclass(frozen=True)
class SentMessage:
    """The backend's id of a sent message (None when the database is the messaging service)."""

    ref: str | None = None


# A person's seat in an elastic channel as the backend placed it: user pk -> backend sub-channel id.
Placements = dict[int, str | None]


class MessagingBackend(abc.ABC):
    """Every change the chat makes that a messaging service must know of."""

    name: str = ""
    # True when the service places members of elastic channels itself (the services then follow
    # its placement and its sub-channel events instead of running their own).
    places_members: bool = False

    # People

    @abc.abstractmethod
    def ensure_user(self, user) -> str | None:
        """Make sure `user` exists in the messaging service; returns their id there."""

    # Channels

    @abc.abstractmethod
    def create_channel(self, channel: Channel, *, creator) -> CreatedChannel:
        """Create the (not yet saved) channel with `creator` as its moderator."""

    @abc.abstractmethod
    def update_channel(self, channel: Channel, *, actor) -> None:
        """Apply the channel's new name and mode (set on the instance, not yet saved)."""

    @abc.abstractmethod
    def delete_channel(self, channel: Channel, *, actor) -> None: ...

    @abc.abstractmethod
    def subchannel_ids(self, channel: Channel) -> list[str]:
        """The sub-channels the service holds for an elastic channel (empty if it places none)."""

    # Members, moderators, bans

    @abc.abstractmethod
    def add_members(self, channel: Channel, users: list, *, actor) -> Placements:
        """Add people (a person joining is their own actor); returns their placements."""

    @abc.abstractmethod
    def remove_member(self, channel: Channel, user, *, actor) -> None:
        """Remove someone (leaving when `actor` is `user`)."""

    @abc.abstractmethod
    def add_moderator(self, channel: Channel, user, *, actor) -> None: ...

    @abc.abstractmethod
    def remove_moderator(self, channel: Channel, user, *, actor) -> str | None:
        """Demote; on an elastic channel returns the sub-channel the service seats them in."""

    @abc.abstractmethod
    def seat_moderator(self, channel: Channel, subchannel: SubChannel, *, actor) -> None:
        """A moderator of an elastic channel sits in one more of its sub-channels."""

    @abc.abstractmethod
    def ban(self, channel: Channel, user, *, actor) -> None: ...

    @abc.abstractmethod
    def unban(self, channel: Channel, user, *, actor) -> None: ...

    # Messages

    @abc.abstractmethod
    def send_message(self, outgoing: OutgoingMessage) -> SentMessage: ...

    @abc.abstractmethod
    def edit_message(self, message: Message, content: str, *, actor) -> None: ...

    @abc.abstractmethod
    def redact_message(self, message: Message, *, actor) -> None: ...

    @abc.abstractmethod
    def delete_message(self, message: Message) -> None:
        """Administrators only: always an administrative call."""

    # Reactions (issue 17)

    @abc.abstractmethod
    def add_reaction(self, message: Message, emoji: str, *, actor) -> None:
        """`actor` adds their `emoji` to the message (one they had not added yet)."""

    @abc.abstractmethod
    def remove_reaction(self, message: Message, emoji: str, *, actor) -> None:
        """`actor` takes back their own `emoji` (one that is there)."""

    @abc.abstractmethod
    def clear_reactions(self, message: Message) -> None:
        """A moderator's clearing of every reaction: always an administrative call."""
