"""The Chime backend's relay (issue 18): records/s applied from Kinesis, the latency it adds, where the time goes.

    .venv/bin/python bench/relay.py --records 5000
    .venv/bin/python bench/relay.py --records 5000 --stack postgres-redis --profile

A fresh install (its own SQLite file, or PostgreSQL + Redis started for the run), MESSAGING_BACKEND=chime,
C channels in Chime with their members, and a Kinesis stream of 2 shards on moto's threaded server
(tests/rig/s3.py's S3Server in a process of its own, so that moto's CPU is not charged to the relay's
process and GIL; the stream is tests/rig/kinesis.py's EventStream). Records are
CREATE_CHANNEL_MESSAGE events from another Chime client (tests/rig/kinesis.py's message_record),
keyed by channel as Chime writes them, put with PutRecords in batches.

1. Throughput: N records put first, then the relay (chat/backends/chime/relay.py's Relay with
   chat/services/mirror.py as its sink, as `manage.py chime_relay` builds it) polls until all are
   applied: records/s, and the split of the relay loop's time: Kinesis calls (GetRecords; ListShards
   and GetShardIterator), JSON decode (parse_record), the mirror's transaction (apply the event,
   save the checkpoint, commit), publish (chat.events.send_group, after commit), the rest.
2. Latency: the relay running (`Relay.run`) while records are put at R records/s in small batches:
   record put (PutRecords answered) -> its stream event published (just after its commit),
   p50/p99, at the default idle poll (CHIME_RELAY_POLL_MS=1000) and at the smallest allowed (200).
3. --profile: the throughput run again on fresh records under cProfile; the functions with the most
   cumulative and own time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rig.chime import APP_INSTANCE_ARN  # noqa: E402
from tests.rig.kinesis import EventStream, message_record, user_arn  # noqa: E402
from tests.rig.s3 import CREDENTIALS_ENV  # noqa: E402
from tests.rig.servers import free_port, stop_process, wait_for_port  # noqa: E402

MOTO = (
    "import sys, time; sys.path.insert(0, sys.argv[2]);"
    "from tests.rig.s3 import S3Server; S3Server(port=int(sys.argv[1])).start(); time.sleep(10**9)"
)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Timers:
    """Seconds spent in each part of the relay loop, and when each message was published."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.published: dict[str, float] = {}  # message content -> time its event was published

    def add(self, name: str, started: float) -> float:
        elapsed = time.perf_counter() - started
        self.seconds[name] += elapsed
        self.calls[name] += 1
        return elapsed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


class TimedKinesis:
    """The relay's Kinesis client, each call timed."""

    def __init__(self, client, timers: Timers) -> None:
        self.client, self.timers = client, timers

    def __getattr__(self, name: str):
        method = getattr(self.client, name)

        def timed(**params):
            started = time.perf_counter()
            try:
                return method(**params)
            finally:
                self.timers.add(f"kinesis.{name}", started)

        return timed


def instrument(timers: Timers):
    """Time JSON decoding, the mirror's transaction and publishing; a Sink for the Relay."""
    from django.db import connection, connections

    from chat import events
    from chat.services import mirror

    parse, send_group = mirror.parse_record, events.send_group

    def timed_parse(data):
        started = time.perf_counter()
        try:
            return parse(data)
        finally:
            timers.add("json decode (parse_record)", started)

    def timed_send_group(group, handler, frame):
        started = time.perf_counter()
        try:
            return send_group(group, handler, frame)
        finally:
            timers.add("publish (send_group)", started)
            content = (frame.get("message") or {}).get("content")
            if frame.get("type") == "message.created" and content:
                timers.published[content] = time.time()

    mirror.parse_record = timed_parse
    timed_send_group.__wrapped_by_bench__ = send_group
    events.send_group = timed_send_group

    def counted(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timers.add("sql", started)

    connection.execute_wrappers.append(counted)
    database = connections["default"]
    commit = database.commit

    def timed_commit():
        started = time.perf_counter()
        try:
            return commit()
        finally:
            timers.add("commit", started)

    database.commit = timed_commit

    class Sink:
        def apply_record(self, data, position):
            started = time.perf_counter()
            try:
                return mirror.apply_record(data, position)
            finally:
                timers.add("apply_record", started)

        def skip_record(self, position):
            return mirror.skip_record(position)

        def finish_shard(self, stream_arn, shard_id):
            return mirror.finish_shard(stream_arn, shard_id)

        def checkpoints(self, stream_arn):
            started = time.perf_counter()
            try:
                return mirror.checkpoints(stream_arn)
            finally:
                timers.add("checkpoints read", started)

    return Sink()


def configure(args, data_dir: Path, stream: EventStream, endpoint: str) -> list:
    """Settings from the environment, as the relay's process gets them; returns servers to stop."""
    backing = []
    os.environ.update(
        {
            **CREDENTIALS_ENV,
            "DJANGO_SETTINGS_MODULE": "hobbies.settings",
            "DATA_DIR": str(data_dir),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "MESSAGING_BACKEND": "chime",
            "CHIME_APP_INSTANCE_ARN": APP_INSTANCE_ARN,
            "CHIME_ADMIN_USER_ARN": f"{APP_INSTANCE_ARN}/user/hobbies-admin",
            "CHIME_EVENT_STREAM_ARN": stream.arn,
            "CHIME_CREATE_USERS_ON_SIGN_IN": "false",
            "AWS_ENDPOINT_URL_KINESIS": endpoint,
        }
    )
    if args.stack == "postgres-redis":
        from tests.rig.databases import PostgresServer, RedisServer

        postgres, redis = PostgresServer().start(), RedisServer().start()
        backing = [redis, postgres]
        os.environ.update(DATABASE_URL=postgres.url, REDIS_URL=redis.url)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return backing


def seed(channels: int, people: int) -> list[str]:
    """C channels in Chime, each with every person a member; returns the channels' ARNs."""
    from chat.models import Channel, Membership, Privacy, Role
    from hobbies.accounts.models import Approval, Profile, User

    users = []
    for number in range(people):
        user = User.objects.create_user(username=f"person{number}", password=None, approval=Approval.ACTIVE)
        Profile.objects.create(user=user, chime_arn=user_arn(f"person{number}"))
        users.append(user)
    arns = []
    for number in range(channels):
        arn = f"{APP_INSTANCE_ARN}/channel/bench-{number}"
        channel = Channel.objects.create(
            name=f"Bench {number}", privacy=Privacy.PRIVATE, created_by=users[0], chime_arn=arn
        )
        Membership.objects.bulk_create(
            [
                Membership(channel=channel, user=user, role=Role.MODERATOR if not index else Role.MEMBER)
                for index, user in enumerate(users)
            ]
        )
        arns.append(arn)
    return arns


def records(label: str, count: int, channel_arns: list[str], people: int) -> list[tuple[str, dict]]:
    made = []
    for number in range(count):
        channel = channel_arns[number % len(channel_arns)]
        content = f"{label} {number}: the quick brown fox jumps over the lazy dog, **twice**"
        record = message_record(
            "CREATE_CHANNEL_MESSAGE",
            channel,
            f"{label}-{number}",
            content=content,
            sender=f"person{number % people}",
            at=number / 1000,
        )
        made.append((content, record))
    return made


def put_batch(stream: EventStream, batch: list[tuple[str, dict]]) -> None:
    entries = [
        {"Data": json.dumps(record).encode(), "PartitionKey": record["Payload"]["ChannelArn"][-256:]}
        for _, record in batch
    ]
    answer = stream.client.put_records(StreamARN=stream.arn, Records=entries)
    if answer.get("FailedRecordCount"):
        raise RuntimeError(f"PutRecords refused {answer['FailedRecordCount']} records")


def relay_class(batched: bool):
    from chat.backends.chime.relay import Relay

    if not batched:
        return Relay
    from django.db import transaction

    class BatchedRelay(Relay):
        """What-if: one transaction per GetRecords page (each record a savepoint in it, its checkpoint
        too), so a page commits once; publishing then waits for the page's commit."""

        def _read_shard(self, shard, sequence):
            with transaction.atomic():
                return super()._read_shard(shard, sequence)

    return BatchedRelay


def applied_count(relay) -> int:
    return sum(relay.metrics.outcomes.values())


def throughput(stream, sink, timers, kinesis, made, args, *, profile: bool = False, batched: bool = False) -> dict:
    Relay = relay_class(batched)  # noqa: N806
    put_started = time.perf_counter()
    for start in range(0, len(made), 500):
        put_batch(stream, made[start : start + 500])
    put_seconds = time.perf_counter() - put_started
    relay = Relay(kinesis=kinesis, stream_arn=stream.arn, sink=sink, poll_seconds=0.2, batch_size=args.batch_size)
    timers.reset()
    profiler = cProfile.Profile() if profile else None
    load = load_average()
    started = time.perf_counter()
    cpu = time.process_time()
    rounds = 0
    if profiler:
        profiler.enable()
    while applied_count(relay) < len(made) and time.perf_counter() - started < args.timeout:
        relay.poll()
        rounds += 1
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    figures = {
        "records": len(made),
        "applied": applied_count(relay),
        "outcomes": dict(relay.metrics.outcomes),
        "errors": relay.metrics.errors,
        "rounds": rounds,
        "seconds": seconds,
        "records_per_s": applied_count(relay) / seconds,
        "relay_process_cpu_share": cpu / seconds,
        # Steadier than records/s on a shared machine: what one record costs the relay's process.
        "cpu_ms_per_record": cpu / max(1, applied_count(relay)) * 1000,
        "put_records_per_s": len(made) / put_seconds,
        "load": f"{load} -> {load_average()}",
        "split": split(timers, seconds, applied_count(relay)),
        "statements_per_record": timers.calls.get("sql", 0) / max(1, applied_count(relay)),
        "commits_per_record": timers.calls.get("commit", 0) / max(1, applied_count(relay)),
        "get_records_calls": timers.calls.get("kinesis.get_records", 0),
    }
    if profiler:
        figures["profile"] = profiler
    return figures


def split(timers: Timers, seconds: float, applied: int) -> list[tuple[str, float, float]]:
    """(part, share of the loop's time, microseconds per applied record)."""
    s = timers.seconds
    kinesis_reads = s.get("kinesis.get_records", 0.0)
    kinesis_other = sum(
        value for name, value in s.items() if name.startswith("kinesis.") and name != "kinesis.get_records"
    )
    decode = s.get("json decode (parse_record)", 0.0)
    publish = s.get("publish (send_group)", 0.0)
    transaction = s.get("apply_record", 0.0) - decode - publish
    checkpoints = s.get("checkpoints read", 0.0)
    statements = max(0.0, s.get("sql", 0.0) - checkpoints)  # the checkpoints read is one SELECT
    commit = s.get("commit", 0.0)
    parts = [
        ("Kinesis GetRecords (HTTP, botocore parsing)", kinesis_reads),
        ("Kinesis ListShards + GetShardIterator", kinesis_other),
        ("JSON decode (parse_record)", decode),
        ("mirror transaction (apply, checkpoint, commit)", transaction),
        ("publish (send_group, after commit)", publish),
        ("checkpoints read (once a round)", checkpoints),
    ]
    parts.append(("relay bookkeeping, the rest", max(0.0, seconds - sum(value for _, value in parts))))
    per = max(1, applied)
    rows = [(name, value / seconds, value / per * 1e6) for name, value in parts]
    inside = [
        ("  of which SQL statements (executing)", statements),
        ("  of which COMMIT", commit),
        ("  of which Django ORM and our Python", max(0.0, transaction - statements - commit)),
    ]
    rows[4:4] = [(name, value / seconds, value / per * 1e6) for name, value in inside]
    return rows


def latency(stream, sink, timers, kinesis, made, args, poll_seconds: float, *, batched: bool = False) -> dict:
    Relay = relay_class(batched)  # noqa: N806
    relay = Relay(kinesis=kinesis, stream_arn=stream.arn, sink=sink, poll_seconds=poll_seconds)
    put_at: dict[str, float] = {}
    finished = threading.Event()
    batch = args.latency_batch
    interval = batch / args.latency_rate

    def produce() -> None:
        first = time.perf_counter()
        for number, start in enumerate(range(0, len(made), batch)):
            chunk = made[start : start + batch]
            put_batch(stream, chunk)
            now = time.time()
            for content, _ in chunk:
                put_at[content] = now
            time.sleep(max(0.0, first + (number + 1) * interval - time.perf_counter()))
        finished.set()

    load = load_average()
    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    deadline = time.perf_counter() + args.timeout
    relay.run(stop=lambda: (finished.is_set() and applied_count(relay) >= len(made)) or time.perf_counter() > deadline)
    producer.join()
    delays = [timers.published[content] - put_at[content] for content, _ in made if content in timers.published]
    return {
        "poll_ms": poll_seconds * 1000,
        "records": len(made),
        "published": len(delays),
        "p50_ms": percentile(delays, 0.50) * 1000,
        "p99_ms": percentile(delays, 0.99) * 1000,
        "max_ms": max(delays, default=float("nan")) * 1000,
        "load": f"{load} -> {load_average()}",
    }


def show_statements(sink, stream, record: dict) -> None:
    """The SQL statements that applying one record runs (its transaction, checkpoint and commit)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat.backends.chime.records import ShardPosition

    # A checkpoint of a stream the relay does not read, so that the runs after this one are not moved.
    position = ShardPosition(f"{stream.arn}-statements", "shardId-000000000000", "1")
    with CaptureQueriesContext(connection) as captured:
        sink.apply_record(json.dumps(record).encode(), position)
    print(f"\nthe statements of one record ({len(captured.captured_queries)}):")
    for query in captured.captured_queries:
        print(f"  {query['sql'][:150]}")


def publish_check(count: int) -> list[dict]:
    """What one chat.events.send_group costs from a plain thread (as `manage.py chime_relay` calls it,
    after each commit) and from a thread under one outer event loop (async_to_sync then reuses it)."""
    from asgiref.sync import async_to_sync, sync_to_async

    from chat import events

    redis = None
    if os.environ.get("REDIS_URL"):
        import redis as redis_py

        redis = redis_py.Redis.from_url(os.environ["REDIS_URL"])
    frame = {"type": "message.created", "stream": "1", "seq": 1, "channel": 1, "message": {"content": "x" * 80}}
    publish = getattr(events.send_group, "__wrapped_by_bench__", events.send_group)
    results = []

    def many(where: str) -> None:
        before = redis.info("stats")["total_connections_received"] if redis else 0
        cpu, started = time.process_time(), time.perf_counter()
        for _ in range(count):
            publish("stream.bench-publish", "stream.event", frame)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = redis.info("stats")["total_connections_received"] if redis else 0
        results.append(
            {
                "where": where,
                "wall_us": wall / count * 1e6,
                "cpu_us": cpu / count * 1e6,
                "new_redis_connections_per_publish": (after - before) / count if redis else None,
            }
        )

    many("a plain thread (as manage.py chime_relay runs)")
    async_to_sync(sync_to_async(many, thread_sensitive=False))("a thread under one outer event loop")
    return results


def print_profile(profiler: cProfile.Profile, lines: int) -> None:
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative")
    print(f"\ncProfile of the relay loop, by cumulative time (top {lines}):")
    stats.print_stats(lines)
    stats.sort_stats("tottime")
    print(f"cProfile, by own time (top {lines}):")
    stats.print_stats(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=5000, help="records for the throughput run")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--stack", choices=["sqlite", "postgres-redis"], default="sqlite")
    parser.add_argument("--batch-size", type=int, default=1000, help="GetRecords Limit (the relay's default)")
    parser.add_argument("--latency-records", type=int, default=400)
    parser.add_argument("--latency-rate", type=float, default=40.0, help="records/s put during the latency runs")
    parser.add_argument("--latency-batch", type=int, default=4, help="records per PutRecords in the latency runs")
    parser.add_argument("--poll-ms", type=int, nargs="+", default=[1000, 200], help="idle polls for latency runs")
    parser.add_argument("--profile", action="store_true", help="also a throughput run under cProfile")
    parser.add_argument(
        "--what-if-batched",
        action="store_true",
        help="also run a relay that applies each GetRecords page in one transaction (a prototype, not shipped)",
    )
    parser.add_argument("--profile-lines", type=int, default=30)
    parser.add_argument("--publish-count", type=int, default=300, help="publishes timed by the publish check")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load average {load_average()}")

    data_dir = Path(tempfile.mkdtemp(prefix="hobbies-relay-"))
    port = free_port()
    moto_log = (data_dir / "moto.log").open("ab")
    moto = subprocess.Popen(
        [sys.executable, "-c", MOTO, str(port), str(ROOT)], stdout=moto_log, stderr=subprocess.STDOUT
    )
    backing = []
    report: dict = {"stack": args.stack}
    try:
        wait_for_port(port, process=moto)
        endpoint = f"http://127.0.0.1:{port}"
        stream = EventStream(endpoint, shards=2)
        backing = configure(args, data_dir, stream, endpoint)
        from chat.backends.chime import client

        channel_arns = seed(args.channels, args.people)
        timers = Timers()
        sink = instrument(timers)
        kinesis = TimedKinesis(client.kinesis(), timers)

        # Warm-up: imports, connections, the first statements (not measured).
        throughput(stream, sink, timers, kinesis, records("warm", 50, channel_arns, args.people), args)

        print(
            f"\nthroughput: {args.records} CREATE_CHANNEL_MESSAGE records in {args.channels} channels, "
            f"2 shards, {args.stack}"
        )
        variants = [("shipped", False), *([("what-if: a transaction per page", True)] if args.what_if_batched else [])]
        report["throughput"], report["latency"] = {}, []
        for name, batched in variants:
            made = records(f"tput-{int(batched)}", args.records, channel_arns, args.people)
            result = throughput(stream, sink, timers, kinesis, made, args, batched=batched)
            report["throughput"][name] = result
            print(f"\n  relay {name}:")
            keys = ["applied", "outcomes", "errors", "rounds", "get_records_calls", "seconds", "records_per_s"]
            keys += ["relay_process_cpu_share", "cpu_ms_per_record", "statements_per_record", "commits_per_record"]
            for key in keys:
                value = result[key]
                print(f"  {key:>24}: {value:,.2f}" if isinstance(value, float) else f"  {key:>24}: {value}")
            print(f"  {'load average':>24}: {result['load']}")
            print("  where the relay loop's time went:                 share  µs/record")
            for part, share, micro in result["split"]:
                print(f"    {part:<50} {share:6.1%} {micro:9.0f}")
        if args.what_if_batched:
            ratio = (
                report["throughput"][variants[1][0]]["records_per_s"] / report["throughput"]["shipped"]["records_per_s"]
            )
            print(f"\n  records/s, a transaction per page / shipped (same run): {ratio:.2f}x")

        for name, batched in variants:
            for poll_ms in args.poll_ms:
                made = records(f"lat{poll_ms}-{int(batched)}", args.latency_records, channel_arns, args.people)
                figures = latency(stream, sink, timers, kinesis, made, args, poll_ms / 1000, batched=batched)
                figures["relay"] = name
                report["latency"].append(figures)
                print(
                    f"\nlatency ({name}), idle poll {poll_ms} ms: {figures['published']} of {figures['records']} "
                    f"records at {args.latency_rate:g}/s in batches of {args.latency_batch}, put -> published: "
                    f"p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms, max {figures['max_ms']:.0f} ms "
                    f"(load {figures['load']})"
                )

        report["publish"] = publish_check(args.publish_count)
        print(f"\npublish (chat.events.send_group), {args.publish_count} times each:")
        for row in report["publish"]:
            connections = row["new_redis_connections_per_publish"]
            print(
                f"  from {row['where']}: {row['wall_us']:,.0f} µs wall, {row['cpu_us']:,.0f} µs CPU"
                + (f", {connections:.2f} new Redis connections per publish" if connections is not None else "")
            )

        if args.profile:
            show_statements(sink, stream, records("one", 1, channel_arns, args.people)[0][1])
            made = records("prof", args.records, channel_arns, args.people)
            result = throughput(stream, sink, timers, kinesis, made, args, profile=True)
            print(f"\nunder cProfile: {result['records_per_s']:,.0f} records/s (the profiler's overhead included)")
            print_profile(result["profile"], args.profile_lines)
    finally:
        for server in backing:
            server.stop()
        stop_process(moto)
        moto_log.close()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
