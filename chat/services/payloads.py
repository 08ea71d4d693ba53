"""How a message travels in frames and stored events: one shape for live, replay and acks.

Its own module, below every service, because sending, editing and merging streams all build it.
"""

from __future__ import annotations

from django.db.models import Prefetch

from chat.models import Message, Reaction

REPLY_EXCERPT_CHARS = 120


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
        "reply_to": reply_ref(message),
        "reactions": reaction_summary(message),
    }


def original_of(message: Message) -> Message | None:
    """The message `message` replies to, None when it is gone (hard-deleted) or there is none."""
    if message.reply_to_id is None:
        return None
    try:
        return message.reply_to  # cached by select_related("reply_to__author"), else one query
    except Message.DoesNotExist:
        return None


def reply_ref(message: Message) -> dict | None:
    """`{"id", "author", "excerpt", "deleted"}` of the original: a one-line quote, never the text of
    a redacted or deleted one."""
    if message.reply_to_id is None:
        return None
    original = original_of(message)
    if original is None or original.redacted_at is not None:
        return {"id": message.reply_to_id, "author": None, "excerpt": "", "deleted": True}
    author = original.author
    line = " ".join(original.content.split())
    excerpt = line if len(line) <= REPLY_EXCERPT_CHARS else line[: REPLY_EXCERPT_CHARS - 1] + "…"
    return {
        "id": original.pk,
        "author": {"id": author.pk, "username": author.username} if author else None,
        "excerpt": excerpt,
        "deleted": False,
    }


def reaction_summary(message: Message) -> list[dict]:
    """`[{"emoji", "count", "users": [usernames]}]` in the order each emoji was first used; from the
    prefetch (`reactions_prefetch`) when there is one, else one query."""
    cached = getattr(message, "_prefetched_objects_cache", {}).get("reactions")
    if cached is not None:
        rows = [(reaction.emoji, reaction.user.username) for reaction in cached]
    elif message.pk is None:
        return []
    else:
        rows = list(
            Reaction.objects.filter(message_id=message.pk)
            .order_by("created_at", "pk")
            .values_list("emoji", "user__username")
        )
    summary: dict[str, list[str]] = {}
    for emoji, username in rows:
        summary.setdefault(emoji, []).append(username)
    return [{"emoji": emoji, "count": len(users), "users": users} for emoji, users in summary.items()]


def reactions_prefetch():
    """For pages of messages: every reaction with its person, in two queries whatever the page."""
    return Prefetch("reactions", queryset=Reaction.objects.select_related("user").order_by("created_at", "pk"))
