"""How a message travels in frames and stored events: one shape for live, replay and acks.

Its own module, below every service, because sending, editing and merging streams all build it.
"""

from __future__ import annotations

from chat.models import Message


def message_payload(message: Message) -> dict:
    author = message.author
    return {
        "id": message.pk,
        "channel": message.channel_id,
        "stream": message.stream_id,
        "seq": message.seq,
        "author": {"id": author.pk, "username": author.username} if author else None,
        "content": message.content,
        "html": message.html,
        "metadata": message.metadata,
        "client_msg_id": str(message.client_msg_id) if message.client_msg_id else None,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "redacted": message.redacted_at is not None,
    }
