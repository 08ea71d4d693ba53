"""The embedded backend: the database is the messaging service, so there is nothing to call.

Every method does nothing extra; the services' own writes are the whole change (today's
behaviour), and elastic channels are placed by chat/services/elastic.py.
"""

from __future__ import annotations

from chat.backends.base import CreatedChannel, MessagingBackend, Placements, SentMessage


class LocalBackend(MessagingBackend):
    name = "local"
    places_members = False

    def ensure_user(self, user) -> None:
        return None

    def create_channel(self, channel, *, creator) -> CreatedChannel:
        return CreatedChannel()

    def update_channel(self, channel, *, actor) -> None:
        return None

    def delete_channel(self, channel, *, actor) -> None:
        return None

    def subchannel_ids(self, channel) -> list[str]:
        return []

    def add_members(self, channel, users, *, actor) -> Placements:
        return {}

    def remove_member(self, channel, user, *, actor) -> None:
        return None

    def add_moderator(self, channel, user, *, actor) -> None:
        return None

    def remove_moderator(self, channel, user, *, actor) -> None:
        return None

    def seat_moderator(self, channel, subchannel, *, actor) -> None:
        return None

    def ban(self, channel, user, *, actor) -> None:
        return None

    def unban(self, channel, user, *, actor) -> None:
        return None

    def send_message(self, outgoing) -> SentMessage:
        return SentMessage()

    def edit_message(self, message, content, *, actor) -> None:
        return None

    def redact_message(self, message, *, actor) -> None:
        return None

    def delete_message(self, message) -> None:
        return None

    def add_reaction(self, message, emoji, *, actor) -> None:
        return None

    def remove_reaction(self, message, emoji, *, actor) -> None:
        return None

    def clear_reactions(self, message) -> None:
        return None
