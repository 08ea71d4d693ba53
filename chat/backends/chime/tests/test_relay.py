"""chat/backends/chime/relay.py on moto's Kinesis (real HTTP, real shards): every shard read,
checkpoints honoured across restarts, children after their parents, failures retried then skipped.
The services' sink (chat/services/mirror.py) is tested with the relay in chat/tests/test_chime_relay.py."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import async_to_sync

from chat.backends.chime import relay as relay_module
from chat.backends.chime.records import RecordError, ShardPosition, parse_record
from chat.backends.chime.relay import MAX_ATTEMPTS, Relay
from tests.rig.kinesis import EventStream, channel_record


class Killed(BaseException):
    """The process dying mid-record (not an Exception: the relay must not catch it)."""


class MemorySink:
    """Applies nothing; remembers what was handed on and the checkpoints, like the database would."""

    def __init__(self) -> None:
        self.applied: list[tuple[str, str]] = []
        self.saved: dict[str, str] = {}
        self.finished: set[str] = set()
        self.skipped: list[str] = []
        self.failing: dict[str, int] = {}
        self.kill_after: int | None = None

    def apply_record(self, data: bytes, position: ShardPosition) -> str:
        name = parse_record(data).payload["Name"]
        if self.kill_after is not None and len(self.applied) >= self.kill_after:
            raise Killed()
        if self.failing.get(name, 0) > 0:
            self.failing[name] -= 1
            raise RuntimeError(f"database down while applying {name}")
        self.applied.append((position.shard_id, name))
        self.saved[position.shard_id] = position.sequence_number  # same transaction as the change
        return "applied"

    def skip_record(self, position: ShardPosition) -> None:
        self.skipped.append(position.sequence_number)
        self.saved[position.shard_id] = position.sequence_number

    def finish_shard(self, stream_arn: str, shard_id: str) -> None:
        self.finished.add(shard_id)

    def checkpoints(self, stream_arn: str) -> dict[str, tuple[str, bool]]:
        shards = set(self.saved) | self.finished
        return {shard: (self.saved.get(shard, ""), shard in self.finished) for shard in shards}

    def names(self) -> list[str]:
        return [name for _, name in self.applied]


@pytest.fixture
def stream(s3_server):
    return EventStream(s3_server.endpoint_url)


def relay_for(stream: EventStream, sink: MemorySink, **options) -> Relay:
    return Relay(kinesis=stream.client, stream_arn=stream.arn, sink=sink, poll_seconds=0.01, **options)


def put(stream: EventStream, name: str, shard: str = "first") -> str:
    return stream.put(channel_record("UPDATE_CHANNEL", "arn:c", name=name), shard=shard)


def test_every_shard_is_read_and_a_restart_resumes_after_the_checkpoints(stream):
    sink = MemorySink()
    for index in range(3):
        put(stream, f"a{index}", "first")
        put(stream, f"b{index}", "last")
    assert relay_for(stream, sink).poll() == 6
    assert sorted(sink.names()) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    put(stream, "a3", "first")
    # A new process: iterators come from the checkpoints (AFTER_SEQUENCE_NUMBER).
    again = relay_for(stream, sink)
    assert again.poll() == 1
    assert again.poll() == 0
    assert sink.names().count("a0") == 1
    assert sink.names()[-1] == "a3"


def test_a_relay_killed_mid_stream_applies_nothing_twice_and_skips_nothing(stream):
    sink = MemorySink()
    for index in range(5):
        put(stream, f"r{index}", "first")
    sink.kill_after = 2
    with pytest.raises(Killed):
        relay_for(stream, sink).poll()
    sink.kill_after = None
    relay_for(stream, sink).poll()
    assert sink.names() == ["r0", "r1", "r2", "r3", "r4"]


def test_a_failing_record_is_retried_from_its_checkpoint_then_skipped(stream, caplog):
    sink = MemorySink()
    put(stream, "ok1")
    put(stream, "flaky")
    put(stream, "ok2")
    sink.failing["flaky"] = 2
    relay = relay_for(stream, sink)
    for _ in range(3):
        relay.poll()
    assert sink.names() == ["ok1", "flaky", "ok2"]
    assert relay.metrics.errors == 2
    sink.failing["broken"] = 99
    put(stream, "broken")
    put(stream, "ok3")
    for _ in range(MAX_ATTEMPTS + 1):
        relay.poll()
    assert sink.names()[-1] == "ok3"
    assert len(sink.skipped) == 1
    assert "event=chime_relay_skipped reason=failing" in caplog.text
    assert "event=chime_relay_error" in caplog.text


def test_an_unreadable_record_is_skipped_at_once(stream, caplog):
    sink = MemorySink()
    stream.put_raw(b"\x00 not json")
    put(stream, "after")
    relay = relay_for(stream, sink)
    relay.poll()
    assert sink.names() == ["after"]
    assert relay.metrics.skipped == 1
    assert "reason=unreadable" in caplog.text
    with pytest.raises(RecordError):
        parse_record(b"\x00 not json")


def test_after_a_reshard_the_children_are_read_once_their_parent_is_finished(stream):
    sink = MemorySink()
    put(stream, "before")
    relay = relay_for(stream, sink)
    relay.poll()
    parent = stream.shard_ids()[0]
    put(stream, "late in parent")
    stream.split_first_shard()
    put(stream, "in child")
    for _ in range(4):
        relay.poll()
    assert parent in sink.finished
    assert sink.names() == ["before", "late in parent", "in child"]
    [child] = {shard for shard, name in sink.applied if name == "in child"}
    assert child != parent


def test_lag_and_errors_are_readable_by_a_metrics_collector(stream):
    sink = MemorySink()
    put(stream, "one")
    clock = [0.0]
    relay = relay_for(stream, sink, clock=lambda: clock[0])
    clock[0] = 10**10  # far after the record arrived
    relay.poll()
    figures = relay_module.metrics()
    assert figures["applied"] == 1
    assert figures["outcomes"] == {"applied": 1}
    assert figures["lag_seconds"] > 0
    assert figures["errors"] == 0
    json.dumps(figures)  # plain data


def test_run_stops_when_asked(stream):
    sink = MemorySink()
    put(stream, "one")
    asked = []
    relay_for(stream, sink).run(stop=lambda: asked.append(1) or len(asked) > 3)
    assert sink.names() == ["one"]


class PublishingSink(MemorySink):
    """Publishes each record it applies as chat/events.py does from synchronous code (async_to_sync)."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[int, int]] = []  # (the event loop, the sink's thread)

    def apply_record(self, data: bytes, position: ShardPosition) -> str:
        outcome = super().apply_record(data, position)
        async_to_sync(self.publish)(threading.get_ident())
        return outcome

    async def publish(self, thread: int) -> None:
        self.published.append((id(asyncio.get_running_loop()), thread))


def test_the_sink_runs_in_the_callers_thread_and_publishes_through_one_event_loop(stream):
    # A new event loop per publish meant a new thread and a new Redis connection per record.
    sink = PublishingSink()
    for name in ("a", "b", "c"):
        put(stream, name)
    relay = relay_for(stream, sink)
    relay.run(stop=lambda: len(sink.applied) >= 3)
    put(stream, "d")
    put(stream, "e")
    assert relay.poll() == 2  # a round on its own (manage.py chime_relay --once): one loop too
    assert sink.names() == ["a", "b", "c", "d", "e"]
    loops = [loop for loop, _ in sink.published]
    assert len(set(loops[:3])) == 1
    assert len(set(loops[3:])) == 1
    assert {thread for _, thread in sink.published} == {threading.get_ident()}
