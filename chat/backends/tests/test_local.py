"""chat/backends/local.py: the database is the messaging service, so every call does nothing."""

from __future__ import annotations

import uuid

from chat.backends.base import CreatedChannel, OutgoingMessage, SentMessage
from chat.backends.local import LocalBackend
from chat.models import Channel, Message, SubChannel


def test_every_call_does_nothing_and_places_nobody():
    backend, channel = LocalBackend(), Channel(name="Knitting")
    user, message = object(), Message(content="hi")
    assert not backend.places_members
    assert backend.create_channel(channel, creator=user) == CreatedChannel()
    assert backend.send_message(OutgoingMessage(channel, user, "hi", uuid.uuid4())) == SentMessage()
    assert backend.add_members(channel, [user], actor=user) == {}
    assert backend.subchannel_ids(channel) == []
    for call in (
        lambda: backend.ensure_user(user),
        lambda: backend.update_channel(channel, actor=user),
        lambda: backend.delete_channel(channel, actor=None),
        lambda: backend.remove_member(channel, user, actor=user),
        lambda: backend.add_moderator(channel, user, actor=user),
        lambda: backend.remove_moderator(channel, user, actor=user),
        lambda: backend.seat_moderator(channel, SubChannel(channel=channel, number=1), actor=user),
        lambda: backend.ban(channel, user, actor=user),
        lambda: backend.unban(channel, user, actor=user),
        lambda: backend.edit_message(message, "hello", actor=user),
        lambda: backend.redact_message(message, actor=user),
        lambda: backend.delete_message(message),
    ):
        assert call() is None
