"""What the metrics and the dashboards count: messages stored, sends and edits refused, deliveries.

- A stored message, once its transaction commits, is counted in the metrics and logged, and added
  a few seconds later to its channel's hour (``ChannelHour``: messages, and a sender when it is the
  author's first there this hour) and its author's day in the channel (``ChannelUserDay``).
- A refused or failed send or edit (``counts_refusals``) is counted in the metrics at once, by its
  protocol error code, and in the rollup with the sends.
- Sends and refusals are gathered in memory and written together every FLUSH_SECONDS, so that the
  send path costs a few additions, and a client flooding refused sends cannot turn each into a write.
  A process that dies loses its last seconds, in the dashboards only (rollup.py rebuilds sends).
Delivery latency and the rebuild are in rollup.py.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from chat.attachments.errors import AttachmentError
from chat.exceptions import ChannelFull, ChannelNotFound, ChatError, InvalidRequest, NotAllowed
from chat.models import Channel, ChannelHour, ChannelUserDay, Message, PersonActivity
from hobbies import metrics

log = logging.getLogger(__name__)

# Sends and refusals wait this long in memory before they are written to the rollup together
# (tests set 0: at once, in the send's own transaction).
FLUSH_SECONDS = 5.0
SERVER_ERROR = "server_error"


def refusal_code(error: BaseException) -> str:
    """The protocol's error code of a refusal (docs/protocol.md); chat/realtime/frames.py answers with it."""
    if isinstance(error, AttachmentError):
        return "attachment_refused"
    code = getattr(error, "code", None)  # MessageRefused and its kinds, Banned
    if isinstance(code, str):
        return code
    if isinstance(error, ChannelNotFound):
        return "not_found"
    if isinstance(error, NotAllowed):
        return "forbidden"
    if isinstance(error, ChannelFull):
        return "channel_full"
    if isinstance(error, InvalidRequest) and "does not exist" in error.message:
        return "not_found"
    return "invalid"


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# Writing the rollup


def upsert(model, keys: dict[str, Any], add: dict[str, int], assign: dict[str, Any] | None = None) -> None:
    """Insert the row of `keys`, or add `add` to its counters (and set `assign`): one statement,
    safe against a concurrent insert (SQLite 3.24+ and PostgreSQL)."""
    assign = assign or {}
    meta, quote = model._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    given = {**keys, **add, **assign}
    values: dict[str, Any] = {}
    for field in meta.concrete_fields:
        if field.primary_key and field.attname not in given and field.name not in given:
            continue  # an automatic id
        if field.attname in given or field.name in given:
            value = given.get(field.attname, given.get(field.name))
        else:
            value = field.get_default()
        values[field.column] = field.get_db_prep_save(value, connection)
    key_columns = [meta.get_field(key).column for key in keys]
    updates = [
        f"{quote(c)} = {table}.{quote(c)} + EXCLUDED.{quote(c)}" for c in (meta.get_field(k).column for k in add)
    ]
    updates += [f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (meta.get_field(k).column for k in assign)]
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(column) for column in values)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(values))}) "
        f"ON CONFLICT ({', '.join(quote(column) for column in key_columns)}) DO UPDATE SET {', '.join(updates)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(values.values()))


def message_stored(message: Message) -> None:
    """In the send's transaction, after the message row: counted, logged and added to the rollup once
    it commits (the rollup a few seconds later, with the other sends of that moment)."""
    author = message.author
    sent = (
        message.channel_id,
        author.pk,
        author.username,
        message.created_at,
        message.pk,
        message.stream_id,
        message.seq,
    )
    if FLUSH_SECONDS <= 0:
        _write({(sent[0], sent[1], hour_of(sent[3])): [1, sent[3]]}, {})  # at once, in this transaction
        transaction.on_commit(functools.partial(_announce, sent))
    else:
        transaction.on_commit(functools.partial(_committed, sent))


def _announce(sent: tuple) -> None:
    channel_id, user_id, username, _, message_id, stream, seq = sent
    metrics.message_published(channel_id)
    log.info(
        "event=message_sent user=%s user_id=%s channel=%s stream=%s seq=%s message_id=%s",
        username,
        user_id,
        channel_id,
        stream,
        seq,
        message_id,
    )


def _committed(sent: tuple) -> None:
    _announce(sent)
    key = (sent[0], sent[1], hour_of(sent[3]))
    with _pending_lock:
        counted = _sent.get(key)
        if counted is None:
            _sent[key] = [1, sent[3]]
        else:
            counted[0] += 1
            counted[1] = max(counted[1], sent[3])
    _schedule()


# Refusals: counted in the metrics at once. Sends and refusals reach the rollup in batches.

_sent: dict[tuple, list] = {}  # (channel id, user id, hour) -> [messages, last sent at]
_pending: dict[tuple, int] = {}  # (channel id or None, message id or None, user id, username, hour, code) -> count
_pending_lock = threading.Lock()
_timer: threading.Timer | None = None
_exit_flush: list = []


def counts_refusals(action: str) -> Callable:
    """Decorates a send (`channel_id=`) or edit (`message_id=`) service taking `actor=`: a ChatError
    it raises is counted by its code, anything else as server_error; the error goes on as it was."""

    def decorate(service: Callable) -> Callable:
        @functools.wraps(service)
        def counted(*args, actor, **kwargs):
            try:
                return service(*args, actor=actor, **kwargs)
            except Exception as error:
                code = refusal_code(error) if isinstance(error, ChatError) else SERVER_ERROR
                refused(actor, code, channel_id=kwargs.get("channel_id"), message_id=kwargs.get("message_id"))
                raise

        return counted

    return decorate


def refused(actor, code: str, *, channel_id: int | None = None, message_id: int | None = None) -> None:
    """Count one refused or failed send (a channel) or edit (a message). Never raises."""
    try:
        channel = channel_id if isinstance(channel_id, int) and not isinstance(channel_id, bool) else None
        metrics.message_error(code, channel)
        if not getattr(actor, "is_authenticated", False):
            return
        message = message_id if isinstance(message_id, int) and not isinstance(message_id, bool) else None
        key = (channel, message, actor.pk, actor.username, hour_of(timezone.now()), code)
        with _pending_lock:
            _pending[key] = _pending.get(key, 0) + 1
        _schedule()
    except Exception:
        log.exception("event=refusal_count_failed code=%s", code)


def _schedule() -> None:
    global _timer
    if FLUSH_SECONDS <= 0:
        flush()
        return
    with _pending_lock:
        if _timer is not None:
            return
        _timer = threading.Timer(FLUSH_SECONDS, _flush_in_thread)
        _timer.daemon = True
        _timer.start()
    if not _exit_flush:
        _exit_flush.append(atexit.register(flush))  # a process ending sooner writes them first


def _flush_in_thread() -> None:
    try:
        flush()
    finally:
        connections.close_all()  # this thread's own connection


def flush() -> int:
    """Write the gathered sends and refusals to the rollup; log the refusals, one line per person,
    channel and code. Returns how many sends and refusals were written."""
    global _timer
    with _pending_lock:
        sent, refusals, _timer = dict(_sent), dict(_pending), None
        _sent.clear()
        _pending.clear()
    if not sent and not refusals:
        return 0
    try:
        message_channels = dict(
            Message.objects.filter(pk__in={key[1] for key in refusals if key[1]}).values_list("pk", "channel_id")
        )
        resolved = {
            (channel or message_channels.get(message), user_id, username, hour, code): count
            for (channel, message, user_id, username, hour, code), count in refusals.items()
        }
        with transaction.atomic():
            _write(sent, resolved)
    except Exception:
        log.exception("event=rollup_failed sends=%d refusals=%d", len(sent), sum(refusals.values()))
        return 0
    for (channel, user_id, username, _, code), count in resolved.items():
        log.info(
            "event=message_refused user=%s user_id=%s channel=%s code=%s count=%d",
            username,
            user_id,
            channel,
            code,
            count,
        )
    return sum(counted for counted, _ in sent.values()) + sum(refusals.values())


def _write(sent: dict[tuple, list], refusals: dict[tuple, int]) -> None:
    """Sends per (channel, user, hour) and refusals per (channel, user, username, hour, code), in the
    caller's transaction. A send is its author's first in the hour when their day's row says they
    last sent before it: the rows are locked first, so two processes writing at once count it once."""
    known = set(
        Channel.objects.filter(pk__in={key[0] for key in [*sent, *refusals] if key[0]}).values_list("pk", flat=True)
    )
    days = {(channel, user, hour.date()) for channel, user, hour in sent if channel in known}
    for channel, user, day in days:  # exist, and are locked until the commit (PostgreSQL)
        upsert(ChannelUserDay, {"channel_id": channel, "user_id": user, "day": day}, {"messages": 0})
    matching = Q(pk__in=[])
    for channel, user, day in days:
        matching |= Q(channel_id=channel, user_id=user, day=day)
    last_sent = {
        (row.channel_id, row.user_id, row.day): row.last_sent_at
        for row in ChannelUserDay.objects.select_for_update().filter(matching)
    }
    for (channel, user, hour), (count, last) in sorted(sent.items(), key=lambda item: item[0][2]):
        if channel not in known:
            continue
        day = (channel, user, hour.date())
        first_this_hour = last_sent.get(day) is None or last_sent[day] < hour
        last_sent[day] = max(last, last_sent.get(day) or last)
        upsert(ChannelHour, {"channel_id": channel, "hour": hour}, {"messages": count, "senders": int(first_this_hour)})
        upsert(
            ChannelUserDay,
            {"channel_id": channel, "user_id": user, "day": day[2]},
            {"messages": count},
            {"last_sent_at": last_sent[day]},
        )
    latest: dict[int, datetime] = {}
    for (_, user, _), (_, last) in sent.items():
        latest[user] = max(last, latest.get(user, last))
    for user, last in latest.items():
        upsert(PersonActivity, {"user_id": user}, {}, {"last_sent_at": last})
    for (channel, user_id, _, hour, _), count in refusals.items():
        if channel not in known:
            continue
        upsert(ChannelHour, {"channel_id": channel, "hour": hour}, {"errors": count})
        upsert(ChannelUserDay, {"channel_id": channel, "user_id": user_id, "day": hour.date()}, {"refused": count})
