"""A conversation's history, read: pages of one stream by seq, where a reader's unread messages
start, and one message for a person who may read it. Constant queries per page.

Pages are keysets on seq (never offsets), oldest first. A reader with unread messages gets a first
page reaching back to the first of them (up to MAX_OPENING_PAGE messages), so the page can open
there under a "New messages" divider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chat import policy
from chat.exceptions import ChannelNotFound, InvalidRequest
from chat.models import Message, ReadMarker
from chat.services import attachments
from chat.services.access import get_channel_access
from chat.services.payloads import reactions_prefetch
from chat.streams import StreamKey

PAGE_SIZE = 50
MAX_OPENING_PAGE = 100
MESSAGE_NOT_FOUND = "That message does not exist."


@dataclass(frozen=True)
class Page:
    messages: list[Message]
    has_older: bool
    first_unread_seq: int | None = None  # where "New messages" goes, on an opening page


def older(key: str, *, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """Up to `size` messages of stream `key` before seq `before` (the newest when None)."""
    query = (
        Message.objects.with_author()
        .select_related("reply_to__author")
        .prefetch_related(attachments.shown_prefetch(), reactions_prefetch())
        .filter(stream_id=key)
    )
    if before is not None:
        query = query.filter(seq__lt=before)
    rows = list(query.order_by("-seq")[: size + 1])
    messages = list(reversed(rows[:size]))
    in_sent_order(messages)
    return Page(messages, has_older=len(rows) > size)


def opening(user, key: str) -> Page:
    """The page a reader opens: the newest messages, reaching back to their first unread one."""
    marker = ReadMarker.objects.filter(user=user, stream_id=key).values_list("last_read_seq", flat=True).first()
    if marker is None:  # never opened here (a visitor, a new member): the newest page, no divider
        return older(key)
    unread = Message.objects.unread_by(user).filter(stream_id=key, seq__gt=marker)
    first_unread = unread.order_by("seq").values_list("seq", flat=True).first()
    if first_unread is None:
        return older(key)
    reach = Message.objects.filter(stream_id=key, seq__gte=first_unread).count() + 5
    page = older(key, size=min(max(PAGE_SIZE, reach), MAX_OPENING_PAGE))
    return Page(page.messages, page.has_older, first_unread_seq=first_unread)


def in_sent_order(messages: Iterable[Message]) -> None:
    """Each message's files in the order its sender chose them (its metadata's list), as sent live;
    the prefetch (attachments.shown_prefetch) gives them by id, which parallel uploads may swap."""
    for message in messages:
        shown = getattr(message, "shown_attachments", None)
        if not shown or len(shown) < 2:
            continue
        order = {item.get("id"): index for index, item in enumerate((message.metadata or {}).get("attachments", []))}
        shown.sort(key=lambda attachment: (order.get(attachment.pk, len(order)), attachment.pk))


def readable_message(*, actor, message_id: int) -> tuple[Message, policy.ChannelAccess]:
    """One message with its reader's standing in its channel; the same InvalidRequest whether the
    id is unused or the message is in a channel or sub-channel the reader may not read."""
    message = Message.objects.with_author().select_related("channel").filter(pk=message_id).first()
    if message is None or message.stream_id is None:
        raise InvalidRequest(MESSAGE_NOT_FOUND)
    try:
        access = get_channel_access(actor, message.channel_id)
    except ChannelNotFound:
        raise InvalidRequest(MESSAGE_NOT_FOUND) from None
    if not policy.can_read_stream(access, StreamKey.parse(message.stream_id)):
        raise InvalidRequest(MESSAGE_NOT_FOUND)
    return message, access
