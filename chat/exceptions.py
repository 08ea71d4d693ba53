"""Domain errors raised by chat services; their text is shown to people as it is."""

from django.core.exceptions import PermissionDenied
from django.http import Http404


class ChatError(Exception):
    """A refusal with a user-facing message."""

    default_message = "That cannot be done."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ChannelNotFound(ChatError, Http404):
    """Raised alike for a channel that does not exist and one the user may not know of."""

    default_message = "Channel not found."


class NotAllowed(ChatError, PermissionDenied):
    default_message = "You are not allowed to do that in this channel."


class ChannelFull(ChatError):
    default_message = "This channel is full: it has reached its maximum number of sub-channels."


class InvalidRequest(ChatError):
    """The request makes no sense in the current state (say, removing someone who is not a member)."""

    default_message = "That request is not valid."
