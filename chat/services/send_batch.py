"""Group commit for sends (issue 18): the pieces `messages.send_messages` stores a batch with.

Every socket of a daphne process reaches the database through one thread, so a send alone paid a
thread hop, its own lookups, a transaction and a commit. chat/realtime/socket_db.py collects the
sends that arrive while the previous batch is being written and hands them over together;
`messages.send_messages` then stores them in one transaction:

- the lookups every send makes are made once for the batch: the earlier sends with the same
  `client_msg_id` (`earlier_sends`), the senders' memberships with their channels and bans
  (`Accesses`, the same `policy.ChannelAccess` that `policy.access_for` builds);
- each send is checked on its own (policy, ban, slow mode, reply target, the backend), writing
  nothing; then the batch's writes are one statement each, whatever its size (`write_drafts`): the
  seqs of each stream, the messages, their events, the search index (`_store_bulk`);
- should one of those statements fail (a duplicate `client_msg_id` committed meanwhile by another
  process), that transaction rolls back and the batch is stored again one savepoint per send
  (`_store_each`): a refused or failed send rolls back alone (its seq with it, so a stream stays
  gap-free) and gets its own error. Batches with a send that writes while it is checked (a sender
  who joins by sending, attachments, slow mode) take that path at once;
- the senders' own read markers move in one statement at the end (`OwnMarkers`);
- the batch commits once; each message is published after that commit (events.store's on_commit)
  and acknowledged only after `send_messages` returned, i.e. after the commit.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from chat import events, policy
from chat.exceptions import ChatError
from chat.models import Ban, Membership, Message, ReadMarker, Stream, StreamEvent
from chat.services import activity, attachments, replies, search_index
from chat.services.access import get_channel_access, require_visible
from chat.services.payloads import message_payload
from chat.streams import StreamKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendRequest:
    """One `message.send` (or the form's post), as `messages.send_message` takes it."""

    actor: Any
    channel_id: int
    content: Any
    client_msg_id: uuid.UUID
    metadata: Any = None
    stream: StreamKey | None = None
    attachment_ids: list | None = None
    reply_to: int | None = None

    @property
    def identity(self) -> tuple[int, uuid.UUID]:
        return (self.actor.pk, self.client_msg_id)


@dataclass
class SendOutcome:
    """What one send of a batch came to: a result (`messages.SendResult`) or the error to answer."""

    result: Any = None
    error: BaseException | None = None


def earlier_sends(requests: list[SendRequest]) -> dict[tuple[int, uuid.UUID], Message]:
    """The messages already stored under the batch's (author, client_msg_id) pairs: one query (two
    when some are there)."""
    wanted = {request.identity for request in requests if isinstance(request.client_msg_id, uuid.UUID)}
    if not wanted:
        return {}
    # Ids first, without the model's ordering: a retry is rare, and most batches read nothing more.
    found = (
        Message.objects.filter(
            author_id__in={author for author, _ in wanted}, client_msg_id__in={ident for _, ident in wanted}
        )
        .order_by()
        .values_list("pk", "author_id", "client_msg_id")
    )
    hits = {pk: (author, ident) for pk, author, ident in found if (author, ident) in wanted}
    if not hits:
        return {}
    return {hits[message.pk]: message for message in Message.objects.with_author().filter(pk__in=hits)}


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool
    payload: dict | None = None  # the message as the ack carries it (docs/protocol.md)


class Accesses:
    """Each sender's standing in each channel of the batch: two queries whatever its size.

    Built like `policy.access_for` (the membership, whether an active ban holds) from the senders'
    memberships (with their channels) and bans, read for every pair at once. A sender who is not a
    member (a public channel, joined by sending; a channel that is missing or hidden) is asked about
    through `get_channel_access` itself, every time: a send before may have joined them.
    """

    def __init__(self, requests: list[SendRequest]) -> None:
        users = {request.actor.pk for request in requests if request.actor.is_authenticated}
        channel_ids = {request.channel_id for request in requests}
        # Plain queries without the models' default ordering: compiling an ordering, or an EXISTS
        # subquery per row, cost more than the rest of the lookup.
        memberships = Membership.objects.filter(channel_id__in=channel_ids, user_id__in=users)
        memberships = memberships.select_related("channel").order_by()
        self.memberships = {(membership.user_id, membership.channel_id): membership for membership in memberships}
        bans = Ban.objects.filter(channel_id__in=channel_ids, user_id__in=users).order_by()
        now = timezone.now()
        # Those that hold now, as BanQuerySet.active() reads them: without an end, or ending later.
        self.banned = {
            (user, channel)
            for user, channel, expires_at in bans.values_list("user_id", "channel_id", "expires_at")
            if expires_at is None or expires_at > now
        }

    def get(self, actor, channel_id: int) -> policy.ChannelAccess:
        """The access `get_channel_access` would return: ChannelNotFound for missing or invisible."""
        membership = self.memberships.get((actor.pk, channel_id)) if actor.is_authenticated else None
        if membership is None:
            return get_channel_access(actor, channel_id)
        banned = (actor.pk, channel_id) in self.banned
        access = policy.ChannelAccess(user=actor, channel=membership.channel, membership=membership, is_banned=banned)
        require_visible(access)
        return access


class OwnMarkers:
    """A sender has read what they sent: their marker in the stream moves to its seq, for every
    sender of the batch in one statement. Never down: the seq was just taken, so it is the stream's
    latest and no marker can be past it."""

    def __init__(self) -> None:
        self.seqs: dict[tuple[int, str], int] = {}

    def add(self, message: Message) -> None:
        pair = (message.author_id, message.stream_id)
        self.seqs[pair] = max(self.seqs.get(pair, 0), message.seq)

    def write(self) -> None:
        if not self.seqs:
            return
        ReadMarker.objects.bulk_create(
            [
                ReadMarker(user_id=user, stream_id=stream, last_read_seq=seq)
                for (user, stream), seq in self.seqs.items()
            ],
            update_conflicts=True,
            unique_fields=["user", "stream"],
            update_fields=["last_read_seq"],
        )
        self.seqs.clear()


@dataclass
class Draft:
    """A send checked and ready to write (`messages._draft`): its stream, its message row unsaved and
    without a seq, the message it replies to, its files, and what the backend answered."""

    key: StreamKey
    message: Message
    original: Message | None = None
    files: list = field(default_factory=list)
    sent: Any = None


class NotInBulk(Exception):
    """This send writes while it is checked, or its checks read what the batch's earlier sends write."""


def store_batch(pending: list[tuple[int, SendRequest]], outcomes: list[SendOutcome], draft: Callable) -> None:
    """Store the checked sends of a batch in one transaction: `draft(request, access, sent)`
    (messages._draft) checks one send and returns its `Draft`; the writes are one statement each for
    the whole batch, or, should one fail, one savepoint per send."""
    sent: dict[int, Any] = {}  # the backend's answers, not asked twice when the batch is stored again
    try:
        if not _store_bulk(pending, outcomes, draft, sent):
            with transaction.atomic():
                _store_each(pending, outcomes, draft, sent)
    except Exception as error:
        # The batch's own statements or its commit failed: nothing of it is stored or announced.
        for index, request in pending:
            if outcomes[index].error is None:
                outcomes[index].result = None
                refused(outcomes[index], request, error)


def _bulk_allowed(request: SendRequest, access: policy.ChannelAccess) -> bool:
    slow = access.channel.slow_mode_seconds and not access.manages  # reads the batch's own sends
    return access.membership is not None and not request.attachment_ids and not slow


def _store_bulk(pending, outcomes, draft: Callable, sent: dict) -> bool:
    """The batch in one transaction with one statement per kind of write; False (and nothing stored
    or answered) when a send is not for this path or a statement failed."""
    if any(request.attachment_ids for _, request in pending):
        return False
    drafts: list[tuple[int, Draft]] = []
    refusals: list[tuple[int, SendRequest, BaseException]] = []
    finished = False
    try:
        with transaction.atomic():
            accesses, markers = Accesses([request for _, request in pending]), OwnMarkers()
            for index, request in pending:
                try:
                    access = accesses.get(request.actor, request.channel_id)
                    if not _bulk_allowed(request, access):
                        raise NotInBulk()
                    checked = draft(request, access, sent.get(index))
                except (NotInBulk, DatabaseError) as error:
                    raise NotInBulk() from error
                except Exception as error:  # refused: nothing of it was written
                    refusals.append((index, request, error))
                    continue
                sent[index] = checked.sent
                drafts.append((index, checked))
            stored = write_drafts([checked for _, checked in drafts])
            for message, _ in stored:
                markers.add(message)
            markers.write()
            finished = True
    except Exception as error:
        if finished:
            raise  # the commit itself failed (or what runs on it): not stored again
        if not isinstance(error, NotInBulk) or error.__cause__ is not None:
            log.info("event=send_batch_fallback size=%s error=%r", len(pending), error.__cause__ or error)
        return False
    for index, request, error in refusals:
        refused(outcomes[index], request, error)
    for (index, _), (message, payload) in zip(drafts, stored, strict=True):
        outcomes[index].result = SendResult(message, created=True, payload=payload)
    return True


def _store_each(pending, outcomes, draft: Callable, sent: dict) -> None:
    """One savepoint per send: a refused or failing send rolls back alone (its seq too)."""
    accesses, markers = Accesses([request for _, request in pending]), OwnMarkers()
    for index, request in pending:
        try:
            with transaction.atomic():  # a savepoint: this send alone rolls back (its seq too)
                access = accesses.get(request.actor, request.channel_id)
                [(message, payload)] = write_drafts([draft(request, access, sent.get(index))])
        except IntegrityError as error:
            # The same send arrived twice at once (two tabs, a retry racing the original).
            if earlier := _sent_before(request.actor, request.client_msg_id):
                outcomes[index].result = SendResult(earlier, created=False, payload=message_payload(earlier))
            else:
                refused(outcomes[index], request, error)
        except Exception as error:
            refused(outcomes[index], request, error)
        else:
            outcomes[index].result = SendResult(message, created=True, payload=payload)
            markers.add(message)
    markers.write()


def write_drafts(drafts: list[Draft]) -> list[tuple[Message, dict]]:
    """Write checked sends, in order: the seqs of each stream (one statement per stream), the
    messages, their `message.created` events and their search index rows (one statement each),
    published after commit. Returns each message with its payload (for the ack)."""
    if not drafts:
        return []
    seqs = {key: _take_seqs(key, count) for key, count in Counter(item.key for item in drafts).items()}
    for item in drafts:
        item.message.seq = seqs[item.key]
        seqs[item.key] += 1
    Message.objects.bulk_create([item.message for item in drafts])
    stored, stream_events = [], []
    for item in drafts:
        message = item.message
        activity.message_stored(message)  # the dashboards' rollup; counted and logged after commit
        if item.files:
            attachments.attach(actor=message.author, message=message, ids=[file["id"] for file in item.files])
        # Built once, for the event and the ack; a message not yet committed has no reactions to read.
        message._prefetched_objects_cache = {"reactions": []}
        payload = message_payload(message)
        del message._prefetched_objects_cache
        body = {"channel": message.channel_id, "message": payload}
        stream_events.append(
            StreamEvent(stream_id=str(item.key), seq=message.seq, type="message.created", body=body, message=message)
        )
        stored.append((message, payload))
    StreamEvent.objects.bulk_create(stream_events)
    for item, event in zip(drafts, stream_events, strict=True):
        frame, group = events.stream_frame(event), item.key.group
        transaction.on_commit(lambda group=group, frame=frame: events.send_group(group, "stream.event", frame))
        replies.notify_author(item.message, item.original)
    search_index.index_new_messages([(message.pk, message.content) for message, _ in stored])
    return stored


def _take_seqs(key: StreamKey, count: int) -> int:
    """The first of `count` seqs taken at once from the stream (as events.next_seq takes one)."""
    table = connection.ops.quote_name(Stream._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_seq = last_seq + %s WHERE key = %s RETURNING last_seq",  # noqa: S608
            [count, str(key)],
        )
        row = cursor.fetchone()
    if row is None:  # a stream made before streams were opened eagerly
        events.open_stream(key)
        return _take_seqs(key, count)
    return row[0] - count + 1


def refused(outcome: SendOutcome, request: SendRequest, error: BaseException) -> None:
    """A send refused (a ChatError, answered with its code) or failed (anything else: server_error)."""
    outcome.error = error
    activity.refused(
        request.actor,
        activity.refusal_code(error) if isinstance(error, ChatError) else activity.SERVER_ERROR,
        channel_id=request.channel_id,
    )


def _sent_before(actor, client_msg_id: uuid.UUID) -> Message | None:
    return Message.objects.with_author().filter(author=actor, client_msg_id=client_msg_id).first()
