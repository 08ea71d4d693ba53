"""The per-process hub, on whichever channel layer the run is configured with (in-memory, or Redis)."""

import asyncio
import contextlib

import pytest
from channels.layers import channel_layers, get_channel_layer

from chat import events
from chat.realtime import hub


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.frames: list[dict] = []
        self.fail = fail

    async def deliver(self, message: dict) -> None:
        self.frames.append(message)
        if self.fail:
            raise RuntimeError("this socket is broken")


@pytest.fixture
def layer():
    channel_layers.backends.clear()
    yield get_channel_layer()
    channel_layers.backends.clear()


@pytest.fixture
def joins(layer, monkeypatch):
    """The group_add calls the layer sees."""
    calls: list[tuple[str, str]] = []
    real_group_add = layer.group_add

    async def group_add(group, channel):
        calls.append((group, channel))
        await real_group_add(group, channel)

    monkeypatch.setattr(layer, "group_add", group_add)
    return calls


async def eventually(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def publish(group: str, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        await events.asend_group(group, "stream.live", {"type": "typing", "stream": "1", "n": number})


def numbers(recorder: Recorder) -> list[int]:
    return [int(message["text"].split('"n":')[1].rstrip("}")) for message in recorder.frames]


async def test_a_process_joins_a_group_once_however_many_sockets_follow_it(layer, joins):
    station = hub.Hub(layer)
    sockets = [Recorder() for _ in range(50)]
    for socket in sockets:
        await station.join("stream.1", socket)
    assert joins == [("stream.1", station.channel_name)]
    await publish("stream.1", 1)
    await eventually(lambda: all(socket.frames for socket in sockets))
    assert {len(socket.frames) for socket in sockets} == {1}
    assert sockets[0].frames[0]["group"] == "stream.1"
    for socket in sockets:
        await station.leave("stream.1", socket)


async def test_every_socket_gets_every_message_once_in_order(layer):
    station = hub.Hub(layer)
    sockets = [Recorder() for _ in range(3)]
    for socket in sockets:
        await station.join("stream.1", socket)
    await publish("stream.1", 40)
    await eventually(lambda: all(len(socket.frames) == 40 for socket in sockets))
    assert all(numbers(socket) == list(range(40)) for socket in sockets)
    for socket in sockets:
        await station.leave("stream.1", socket)


async def test_a_failing_socket_is_dropped_and_does_not_stop_the_others(layer, caplog):
    station = hub.Hub(layer)
    broken, healthy = Recorder(fail=True), Recorder()
    for group in ("stream.1", "stream.2"):
        await station.join(group, broken)
        await station.join(group, healthy)
    await publish("stream.1", 3)
    await publish("stream.2", 1)
    await eventually(lambda: len(healthy.frames) == 4)
    assert len(broken.frames) == 1  # its send failed: the hub forgot it in every group
    assert all(broken not in subscribers for subscribers in station.groups.values())
    assert "event=delivery_failed" in caplog.text
    for group in ("stream.1", "stream.2"):
        await station.leave(group, healthy)
    assert station.groups == {}


async def test_only_the_groups_a_socket_follows_reach_it(layer):
    station = hub.Hub(layer)
    one, two = Recorder(), Recorder()
    await station.join("stream.1", one)
    await station.join("stream.2", two)
    await publish("stream.2", 2)
    await publish("stream.1", 1)
    await eventually(lambda: len(one.frames) == 1 and len(two.frames) == 2)
    await station.leave("stream.2", two)
    await publish("stream.2", 1)
    await publish("stream.1", 1)
    await eventually(lambda: len(one.frames) == 2)
    assert len(two.frames) == 2  # it left before the third
    await station.leave("stream.1", one)


async def test_the_last_leave_ends_the_subscription_and_a_new_join_starts_it(layer, monkeypatch):
    station = hub.Hub(layer)
    discarded = []
    real_discard = layer.group_discard

    async def group_discard(group, channel):
        discarded.append(group)
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_discard", group_discard)
    first, second = Recorder(), Recorder()
    await station.join("stream.1", first)
    await station.join("stream.1", second)
    await station.leave("stream.1", first)
    assert discarded == []
    await station.leave("stream.1", second)
    await station.leave("stream.1", second)  # twice is harmless
    assert discarded == ["stream.1"]
    assert station.groups == {}
    assert station._reader is None  # nothing left to read for

    await station.join("stream.1", first)
    await publish("stream.1", 1)
    await eventually(lambda: len(first.frames) == 1)
    await station.leave("stream.1", first)


async def test_groups_are_joined_again_before_the_layer_forgets_them(layer, joins, monkeypatch):
    monkeypatch.setattr(hub, "REJOIN_EVERY_SECONDS", 0.05)
    monkeypatch.setattr(hub, "PROBE_SECONDS", 0.02)
    station = hub.Hub(layer)
    socket = Recorder()
    await station.join("stream.1", socket)
    await eventually(lambda: len(joins) >= 3)
    assert set(joins) == {("stream.1", station.channel_name)}
    await station.leave("stream.1", socket)


async def test_a_failed_receive_is_retried(layer, monkeypatch, caplog):
    monkeypatch.setattr(hub, "RETRY_SECONDS", 0.01)
    real_receive = layer.receive
    failures = []

    async def flaky_receive(channel):
        if not failures:
            failures.append(channel)
            raise ConnectionError("redis went away")
        return await real_receive(channel)

    monkeypatch.setattr(layer, "receive", flaky_receive)
    station = hub.Hub(layer)
    socket = Recorder()
    await station.join("stream.1", socket)
    await publish("stream.1", 2)
    await eventually(lambda: len(socket.frames) == 2)
    assert failures and "event=hub_receive_failed" in caplog.text
    await station.leave("stream.1", socket)


async def test_a_large_room_is_written_in_batches_so_the_loop_keeps_running(layer):
    station = hub.Hub(layer)
    order: list[str] = []

    class Socket:
        async def deliver(self, message):
            order.append("delivery")

    sockets = [Socket() for _ in range(hub.YIELD_EVERY * 4)]
    for socket in sockets:
        await station.join("stream.1", socket)

    async def other_work():
        while len(order) < len(sockets) + 3:
            order.append("other")
            await asyncio.sleep(0)

    await station.fan_out({"type": "stream.live", "group": "stream.1"})
    assert order.count("delivery") == len(sockets)
    order.clear()
    worker = asyncio.ensure_future(other_work())
    await station.fan_out({"type": "stream.live", "group": "stream.1"})
    worker.cancel()
    first, last = order.index("delivery"), len(order) - 1 - order[::-1].index("delivery")
    assert "other" in order[first:last]  # the loop ran between the first and the last write
    for socket in sockets:
        await station.leave("stream.1", socket)


async def test_current_hub_is_one_per_event_loop_and_layer(layer):
    assert hub.current_hub() is hub.current_hub()
    assert hub.current_hub().layer is layer
    channel_layers.backends.clear()
    assert hub.current_hub().layer is get_channel_layer()
    assert hub.current_hub().layer is not layer


@pytest.fixture
def layer_epoch(monkeypatch):
    """The layer's identity as the hub's probe sees it: change it to restart the layer, or make it fail."""
    state = {"epoch": "first", "down": False}

    async def probe(layer):
        if state["down"]:
            raise ConnectionError("the layer is down")
        return state["epoch"]

    monkeypatch.setattr(hub, "layer_epoch", probe)
    monkeypatch.setattr(hub, "PROBE_SECONDS", 0.02)
    monkeypatch.setattr(hub, "RETRY_SECONDS", 0.02)
    return state


async def test_groups_are_joined_again_when_the_layer_restarts(layer, layer_epoch, forget_groups):
    station = hub.Hub(layer)
    socket, recoveries = Recorder(), []
    station.on_recovery.append(lambda: recoveries.append(True))
    await station.join("stream.1", socket)
    await asyncio.sleep(0.1)
    assert recoveries == []  # nothing happened to the layer yet
    await forget_groups(layer)  # a restarted Redis forgets every group
    layer_epoch["epoch"] = "second"
    await eventually(lambda: recoveries)
    await publish("stream.1", 1)
    await eventually(lambda: len(socket.frames) == 1)
    await station.leave("stream.1", socket)


async def test_a_join_while_the_layer_is_down_is_made_when_it_returns(layer, layer_epoch, monkeypatch, caplog):
    real_group_add = layer.group_add
    recoveries = []

    async def refused(group, channel):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(layer, "group_add", refused)
    layer_epoch["down"] = True
    station = hub.Hub(layer)
    station.on_recovery.append(lambda: recoveries.append(True))
    socket = Recorder()
    await station.join("stream.1", socket)  # does not raise: the socket stays open
    assert socket in station.groups["stream.1"]
    await asyncio.sleep(0.1)
    monkeypatch.setattr(layer, "group_add", real_group_add)
    layer_epoch["down"] = False
    await eventually(lambda: recoveries)
    await publish("stream.1", 1)
    await eventually(lambda: len(socket.frames) == 1)
    assert caplog.text.count("event=layer_down") == 1
    assert "event=layer_recovered" in caplog.text
    await station.leave("stream.1", socket)


async def test_a_restarted_redis_delivers_again_within_seconds(tmp_path):
    """A real redis-server restarted under a hub: every group is joined again, promptly."""
    from channels_redis.core import RedisChannelLayer

    from hobbies.settings import redis_channel_layer
    from tests.rig.components import require_binary
    from tests.rig.databases import RedisServer

    require_binary("redis-server")
    server = RedisServer().start()
    try:
        redis_layer = RedisChannelLayer(**redis_channel_layer(server.url)["CONFIG"])
        station = hub.Hub(redis_layer)
        socket = Recorder()
        await station.join("stream.1", socket)
        await redis_layer.group_send("stream.1", {"type": "stream.live", "group": "stream.1", "n": 0})
        await eventually(lambda: len(socket.frames) == 1)
        server.stop()
        await asyncio.sleep(1)
        server.start()
        restarted = asyncio.get_running_loop().time()
        while len(socket.frames) < 2:
            assert asyncio.get_running_loop().time() - restarted < 5, "no live delivery 5 s after the restart"
            with contextlib.suppress(Exception):  # (the pool's first connection after the restart may fail)
                await redis_layer.group_send("stream.1", {"type": "stream.live", "group": "stream.1", "n": 1})
            await asyncio.sleep(0.2)
        await station.leave("stream.1", socket)
        await redis_layer.flush()
    finally:
        server.stop()


# Stream events out of seq order (two workers' commits published out of order): the hub's window.


def stream_event(seq: int, key: str = "7") -> dict:
    return events.group_message(f"stream.{key}", "stream.event", {"type": "message.created", "stream": key, "seq": seq})


def seqs(recorder: Recorder) -> list[int]:
    return [message["seq"] for message in recorder.frames]


@pytest.fixture
def repair_reads(monkeypatch):
    """The hub's gap-repair reads (replay.events_between), answered with the events asked for."""
    from chat.realtime import replay

    calls: list[tuple[str, int, int]] = []

    def events_between(key, after_seq, before_seq):
        calls.append((key, after_seq, before_seq))
        return [{"type": "message.created", "stream": key, "seq": seq} for seq in range(after_seq + 1, before_seq)]

    monkeypatch.setattr(replay, "events_between", events_between)
    return calls


async def test_events_in_order_are_handed_out_at_once(layer, repair_reads):
    station = hub.Hub(layer)
    socket = Recorder()
    await station.join("stream.7", socket)
    for seq in (1, 2, 3):
        await station.fan_out(stream_event(seq))
        assert seqs(socket)[-1] == seq  # written by the time fan_out returns: nothing waited
    assert station.held == {} and station._repairs == {}
    await station.fan_out(stream_event(2))  # a duplicate: handed out, as ever (the socket drops it)
    assert seqs(socket) == [1, 2, 3, 2] and station.held == {}
    assert repair_reads == []
    await station.leave("stream.7", socket)


async def test_an_event_ahead_of_its_predecessor_waits_for_it_and_both_go_out_in_order(
    layer, repair_reads, monkeypatch
):
    monkeypatch.setattr(hub, "REORDER_SECONDS", 5.0)
    station = hub.Hub(layer)
    sockets = [Recorder() for _ in range(3)]
    for socket in sockets:
        await station.join("stream.7", socket)
    await station.fan_out(stream_event(1))  # the first of a stream here: the baseline
    await station.fan_out(stream_event(3))
    await station.fan_out(stream_event(4))
    assert {tuple(seqs(socket)) for socket in sockets} == {(1,)}  # held: 2 is on its way
    assert station.handed["7"] == 1  # (the heads wait for what is held)
    await station.fan_out(stream_event(2))
    assert {tuple(seqs(socket)) for socket in sockets} == {(1, 2, 3, 4)}
    assert station.held == {} and station._repairs == {}
    assert repair_reads == []  # no database read
    assert station.handed["7"] == 4
    for socket in sockets:
        await station.leave("stream.7", socket)


async def test_a_missing_event_is_read_once_for_every_socket_when_the_window_passes(layer, repair_reads, monkeypatch):
    monkeypatch.setattr(hub, "REORDER_SECONDS", 0.05)
    station = hub.Hub(layer)
    sockets = [Recorder() for _ in range(20)]
    for socket in sockets:
        await station.join("stream.7", socket)
    station.note_handed({"7": 5})  # read as stored by a socket that connected: the baseline
    await station.fan_out(stream_event(8))
    await station.fan_out(stream_event(9))
    await asyncio.sleep(0.02)
    assert not any(socket.frames for socket in sockets)
    await eventually(lambda: all(len(socket.frames) == 4 for socket in sockets))
    assert {tuple(seqs(socket)) for socket in sockets} == {(6, 7, 8, 9)}
    assert repair_reads == [("7", 5, 9)]  # one read for the whole process
    assert sockets[0].frames[0]["group"] == "stream.7" and sockets[0].frames[0]["at"] is None
    assert station.held == {} and station._repairs == {}
    await station.fan_out(stream_event(10))
    assert seqs(sockets[0])[-1] == 10 and repair_reads == [("7", 5, 9)]
    for socket in sockets:
        await station.leave("stream.7", socket)


async def test_when_the_repair_read_fails_what_is_held_goes_out_in_order(layer, monkeypatch, caplog):
    from chat.realtime import replay

    def broken(key, after_seq, before_seq):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(replay, "events_between", broken)
    monkeypatch.setattr(hub, "REORDER_SECONDS", 0.02)
    station = hub.Hub(layer)
    socket = Recorder()
    await station.join("stream.7", socket)
    await station.fan_out(stream_event(1))
    await station.fan_out(stream_event(4))
    await station.fan_out(stream_event(3))
    await eventually(lambda: len(socket.frames) == 3)
    assert seqs(socket) == [1, 3, 4]  # each socket sees the gap and repairs it itself (delivery.py)
    assert "event=hub_gap_repair_failed" in caplog.text
    assert station.held == {} and station._repairs == {}
    await station.leave("stream.7", socket)


async def test_a_group_left_while_an_event_is_held_forgets_it(layer, repair_reads, monkeypatch):
    monkeypatch.setattr(hub, "REORDER_SECONDS", 0.02)
    station = hub.Hub(layer)
    socket = Recorder()
    await station.join("stream.7", socket)
    await station.fan_out(stream_event(1))
    await station.fan_out(stream_event(3))
    await station.leave("stream.7", socket)
    await asyncio.sleep(0.1)
    assert station.held == {} and station._repairs == {} and repair_reads == []
    assert seqs(socket) == [1]


async def test_streams_wait_apart(layer, repair_reads, monkeypatch):
    monkeypatch.setattr(hub, "REORDER_SECONDS", 5.0)
    station = hub.Hub(layer)
    seven, eight = Recorder(), Recorder()
    await station.join("stream.7", seven)
    await station.join("stream.8", eight)
    await station.fan_out(stream_event(1, "7"))
    await station.fan_out(stream_event(3, "7"))  # held
    await station.fan_out(stream_event(1, "8"))
    await station.fan_out(stream_event(2, "8"))
    assert seqs(seven) == [1] and seqs(eight) == [1, 2]
    await station.fan_out(stream_event(2, "7"))
    assert seqs(seven) == [1, 2, 3]
    await station.leave("stream.7", seven)
    await station.leave("stream.8", eight)
