"""chat/services/trends.py: keywords and emoji of a channel's recent messages."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.utils import timezone

from chat.models import Message
from chat.services import trends
from chat.services.messages import redact_message, send_message


def test_words_are_counted_without_stop_words_links_mentions_or_numbers():
    found = trends.trends_of(
        [
            "The Knitting circle meets at 18:00 https://example.org/knitting @knitter",
            "knitting’s fun, and the circle's great",
            "123 456 ok",
        ]
    )
    assert dict(found.keywords) == {"knitting": 2, "circle": 2, "meets": 1, "fun": 1, "great": 1}
    assert found.sampled == 3


def test_emoji_keep_their_modifiers_and_flags():
    found = trends.trends_of(["👍🏽 👍🏽 🇫🇷", "❤️ and 👩‍💻", "plain"])
    assert dict(found.emoji) == {"👍🏽": 2, "🇫🇷": 1, "❤️": 1, "👩‍💻": 1}


def test_only_recent_visible_messages_are_read(room, settings, monkeypatch):
    channel, mod, ann = room
    monkeypatch.setattr(trends, "SAMPLE", 3)
    old = send_message(actor=ann, channel_id=channel.pk, content="ancient history", client_msg_id=uuid.uuid4()).message
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    for text in ("fresh bread", "fresh cheese", "secret plan", "fresh fruit"):
        message = send_message(actor=ann, channel_id=channel.pk, content=text, client_msg_id=uuid.uuid4()).message
    redact_message(actor=mod, message_id=message.pk)  # "fresh fruit" is gone
    first = trends.first_message_id_since(timezone.now() - timedelta(days=7))
    found = trends.channel_trends(channel.pk, first)
    assert found.sampled == 3
    assert dict(found.keywords) == {"fresh": 2, "bread": 1, "cheese": 1, "secret": 1, "plan": 1}
    assert trends.channel_trends(channel.pk, None).sampled == 0
