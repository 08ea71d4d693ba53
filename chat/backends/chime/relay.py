"""The relay: reads every shard of Chime's event stream (Kinesis) and hands each record on.

`manage.py chime_relay` runs one Relay with a sink of services (chat/services/mirror.py) that
applies a record and saves its shard's checkpoint in one transaction. So this module knows
Kinesis only: shards (new ones after a reshard are picked up, a child shard is read once its
parents are finished), iterators (resumed AFTER_SEQUENCE_NUMBER from the checkpoints, or from
TRIM_HORIZON), retries, and the figures a metrics collector reads (``metrics()``).

Records arrive at least once: the sink is idempotent. A record that fails to apply is retried
from its checkpoint on the next round, and skipped (logged at error level) after MAX_ATTEMPTS.

The sink runs in the caller's thread while one event loop runs in another (``run``: for the
relay's life; ``poll``: for the round), so what the sink hands to asyncio through
``async_to_sync`` (its publishes after commit, chat/events.py) reuses that loop and the channel
layer's Redis connections, instead of a new loop, thread and connection each time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from asgiref.sync import async_to_sync, sync_to_async
from botocore.exceptions import BotoCoreError, ClientError

from chat.backends.chime.records import RecordError, ShardPosition

log = logging.getLogger("chat.backends.chime.relay")

MAX_ATTEMPTS = 5
STATS_EVERY_SECONDS = 60.0


class Sink(Protocol):
    def apply_record(self, data: bytes, position: ShardPosition) -> str: ...

    def skip_record(self, position: ShardPosition) -> None: ...

    def finish_shard(self, stream_arn: str, shard_id: str) -> None: ...

    def checkpoints(self, stream_arn: str) -> dict[str, tuple[str, bool]]: ...


@dataclass
class RelayMetrics:
    """What the relay has done since it started; ``lag_seconds`` is the age of the last applied
    record when it was applied (now minus its arrival in the stream)."""

    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    skipped: int = 0
    lag_seconds: float | None = None
    last_applied_at: float | None = None
    millis_behind_latest: dict[str, int] = field(default_factory=dict)
    shards_read: int = 0

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["applied"] = sum(self.outcomes.values())
        data["max_millis_behind_latest"] = max(self.millis_behind_latest.values(), default=0)
        return data


_current = RelayMetrics()


def metrics() -> dict[str, Any]:
    """The running relay's figures, for a metrics collector (or a health check) to read."""
    return _current.snapshot()


class Relay:
    def __init__(
        self,
        *,
        kinesis,
        stream_arn: str,
        sink: Sink,
        poll_seconds: float = 1.0,
        batch_size: int = 1000,
        clock: Callable[[], float] = time.time,
        before_round: Callable[[], None] | None = None,
    ) -> None:
        global _current
        self.kinesis = kinesis
        self.stream_arn = stream_arn
        self.sink = sink
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.clock = clock
        self.before_round = before_round
        self.iterators: dict[str, str] = {}
        self.attempts: dict[tuple[str, str], int] = {}
        self.metrics = _current = RelayMetrics()
        self._stats_at = clock()

    def run(self, *, stop: Callable[[], bool] = lambda: False) -> None:
        _under_one_loop(self._run, stop)

    def _run(self, stop: Callable[[], bool]) -> None:
        log.info("event=chime_relay_started stream=%s", self.stream_arn)
        while not stop():
            try:
                read = self._poll()
            except (ClientError, BotoCoreError) as error:
                self._error("poll", error)
                read = 0
            self._log_stats()
            if not read and not stop():
                time.sleep(self.poll_seconds)
        log.info("event=chime_relay_stopped stream=%s %s", self.stream_arn, self.stats_line())

    def poll(self) -> int:
        """One round over every readable shard; returns how many records were handed on."""
        return _under_one_loop(self._poll)

    def _poll(self) -> int:
        if self.before_round is not None:
            self.before_round()
        checkpoints = self.sink.checkpoints(self.stream_arn)
        shards = self._shards()
        listed = {shard["ShardId"] for shard in shards}
        read = 0
        for shard in shards:
            shard_id = shard["ShardId"]
            sequence, finished = checkpoints.get(shard_id, ("", False))
            if finished:
                continue
            parents = [shard.get("ParentShardId"), shard.get("AdjacentParentShardId")]
            # A child waits for its parents (those still in the stream) so a key's order holds.
            if any(parent in listed and not checkpoints.get(parent, ("", False))[1] for parent in parents if parent):
                continue
            read += self._read_shard(shard, sequence)
        return read

    def _shards(self) -> list[dict]:
        shards, token = [], None
        while True:
            # ListShards takes either the stream or a NextToken, never both.
            params = {"NextToken": token} if token else {"StreamARN": self.stream_arn}
            page = self.kinesis.list_shards(**params)
            shards.extend(page.get("Shards") or [])
            token = page.get("NextToken")
            if not token:
                return shards

    def _iterator(self, shard_id: str, sequence: str) -> str:
        if shard_id in self.iterators:
            return self.iterators[shard_id]
        params: dict[str, Any] = {"StreamARN": self.stream_arn, "ShardId": shard_id}
        if sequence:
            params.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=sequence)
        else:
            params["ShardIteratorType"] = "TRIM_HORIZON"
        iterator = self.kinesis.get_shard_iterator(**params)["ShardIterator"]
        self.iterators[shard_id] = iterator
        return iterator

    def _read_shard(self, shard: dict, sequence: str) -> int:
        shard_id = shard["ShardId"]
        try:
            page = self.kinesis.get_records(
                StreamARN=self.stream_arn, ShardIterator=self._iterator(shard_id, sequence), Limit=self.batch_size
            )
        except ClientError as error:
            self.iterators.pop(shard_id, None)  # expired or throttled: start again from the checkpoint
            if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                self._error(f"get_records shard={shard_id}", error)
            return 0
        records = page.get("Records") or []
        self.metrics.millis_behind_latest[shard_id] = int(page.get("MillisBehindLatest") or 0)
        for handed, record in enumerate(records):
            position = ShardPosition(self.stream_arn, shard_id, record["SequenceNumber"])
            if not self._hand_on(record, position):
                self.iterators.pop(shard_id, None)  # retried from the checkpoint next round
                return handed
        next_iterator = page.get("NextShardIterator")
        closed = "EndingSequenceNumber" in (shard.get("SequenceNumberRange") or {})
        if next_iterator is None or (closed and not records and not page.get("MillisBehindLatest")):
            self.sink.finish_shard(self.stream_arn, shard_id)
            self.iterators.pop(shard_id, None)
            log.info("event=chime_relay_shard_finished shard=%s", shard_id)
        else:
            self.iterators[shard_id] = next_iterator
        self.metrics.shards_read += 1
        return len(records)

    def _hand_on(self, record: dict, position: ShardPosition) -> bool:
        """Apply one record; False when it failed and will be retried."""
        key = (position.shard_id, position.sequence_number)
        try:
            outcome = self.sink.apply_record(record["Data"], position)
        except RecordError as error:
            log.error("event=chime_relay_skipped reason=unreadable shard=%s seq=%s error=%r", *key, str(error))
            self.sink.skip_record(position)
            self.metrics.skipped += 1
            return True
        except Exception as error:
            self.attempts[key] = self.attempts.get(key, 0) + 1
            self._error(f"apply shard={key[0]} seq={key[1]} attempt={self.attempts[key]}", error)
            if self.attempts[key] < MAX_ATTEMPTS:
                return False
            log.error("event=chime_relay_skipped reason=failing shard=%s seq=%s", *key)
            self.sink.skip_record(position)
            self.metrics.skipped += 1
        else:
            self.metrics.outcomes[outcome] = self.metrics.outcomes.get(outcome, 0) + 1
            now = self.clock()
            arrived = record.get("ApproximateArrivalTimestamp")
            if arrived is not None:
                self.metrics.lag_seconds = max(0.0, now - arrived.timestamp())
            self.metrics.last_applied_at = now
            log.debug("event=chime_relay_applied shard=%s seq=%s outcome=%s", *key, outcome)
        self.attempts.pop(key, None)
        return True

    def _error(self, where: str, error: BaseException) -> None:
        self.metrics.errors += 1
        log.error("event=chime_relay_error where=%s error=%r", where, error)

    def stats_line(self) -> str:
        snapshot = self.metrics.snapshot()
        lag = snapshot["lag_seconds"]
        return (
            f"applied={snapshot['applied']} errors={snapshot['errors']} skipped={snapshot['skipped']} "
            f"lag_ms={int(lag * 1000) if lag is not None else -1} "
            f"behind_ms={snapshot['max_millis_behind_latest']}"
        )

    def _log_stats(self) -> None:
        if self.clock() - self._stats_at < STATS_EVERY_SECONDS:
            return
        self._stats_at = self.clock()
        log.info("event=chime_relay_stats stream=%s %s", self.stream_arn, self.stats_line())


def _under_one_loop(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in this thread, with one event loop running in another meanwhile: every
    ``async_to_sync`` inside it is then a hop onto that loop (asgiref's thread_sensitive)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(sync_to_async(function, thread_sensitive=True))(*args)
    return function(*args)  # called from a loop's own thread: nothing to share
