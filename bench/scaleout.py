"""Scale-out benchmark (issue 18): one daphne worker against two, on PostgreSQL + Redis, behind one address.

    .venv/bin/python bench/scaleout.py --members 1000 --senders 10 --messages 300 --rate 10
    .venv/bin/python bench/scaleout.py --members 1000 --senders 10 --messages 600 --rate 60   # flat out

One install (PostgreSQL + Redis, seeded once by bench/fanout.py's Server), then for each entry of
--workers (default: 1 then 2) that many `python -m hobbies.server` processes behind one port,
N members connected through that port (bench/fanout.py's member()), K senders taken in turn from
each worker's members, M messages at R msg/s in all. It prints delivery latency for all
deliveries and split into same-worker and cross-worker ones (sender and member on different
workers: the message crossed Redis to the other worker's hub), deliveries/s, lost and duplicated
deliveries, where the 2 cores went (each worker, this load generator, Redis, the rest of the
machine: PostgreSQL and whatever else runs) and PostgreSQL's reads of chat_streamevent per message
(each is one socket repairing a gap, chat/realtime/delivery.py), then two/one ratios from the same run.

One address without a proxy: daphne cannot set SO_REUSEPORT itself, but it serves a listening
socket it inherits (--fd). This script opens one listening socket per worker, all bound to the
same port with SO_REUSEPORT, and hands one to each worker; the kernel spreads connections over
them by a hash of the client's address and port: no extra hop, no extra process on the cores.
Which worker holds a member's connection is read from /proc (the server side's socket inode).
Redis is emptied between runs, so no group keeps a stopped worker's channel.

On a shared Linux machine with autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled), the
CPU is shared between sessions first: everything this script starts is one session and gets one
share, however many workers it runs. --own-sessions starts each worker in a session of its own, as
separate services would run. --py-spy DIR records each worker while sending.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout import Results, Server, cpu_seconds, member, percentile, rss_kib, summarise  # noqa: E402
from tests.rig.servers import free_port, stop_process, wait_for_port  # noqa: E402

PY_SPY = str(Path(sys.executable).parent / "py-spy")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, all cores, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def connection_owners(port: int, pids: list[int]) -> dict[int, int]:
    """Client port -> index (in `pids`) of the worker holding the server side of that connection."""
    owner_of_inode: dict[int, int] = {}
    for index, pid in enumerate(pids):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owner_of_inode[int(target[8:-1])] = index
    owners: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            columns = line.split()
            local, remote, inode = columns[1], columns[2], int(columns[9])
            if int(local.rsplit(":", 1)[1], 16) == port and inode in owner_of_inode:
                owners[int(remote.rsplit(":", 1)[1], 16)] = owner_of_inode[inode]
    return owners


class Cluster:
    """`count` workers of our app sharing one port through SO_REUSEPORT, on the Server's install."""

    def __init__(self, server: Server, count: int, *, extra_pids: list[int], own_sessions: bool = False) -> None:
        self.server, self.count, self.own_sessions = server, count, own_sessions
        self.extra_pids = extra_pids  # also measured: Redis
        self.port = free_port()
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        listeners = []
        for _ in range(self.count):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(1024)
            listeners.append(listener)
        log = open(self.server.data_dir / "daphne.log", "ab")  # noqa: SIM115
        try:
            for listener in listeners:
                own = free_port()  # each worker's own port too, to know when it is serving
                command = [sys.executable, "-m", "hobbies.server", "-b", "127.0.0.1", "-p", str(own)]
                process = subprocess.Popen(
                    [*command, "--fd", str(listener.fileno())],
                    env=self.server.env,
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    pass_fds=(listener.fileno(),),
                    # Linux's autogroup scheduling shares the CPU between sessions first: a worker
                    # in a session of its own gets a share like any other program on the machine.
                    start_new_session=self.own_sessions,
                )
                self.processes.append(process)
                wait_for_port(own, process=process, timeout=60)
        finally:
            for listener in listeners:
                listener.close()  # each worker holds its own copy
            log.close()

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            stop_process(process, timeout=20)
        self.processes = []


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


def stream_event_reads(database_url: str) -> int:
    """Index and sequential scans of chat_streamevent so far: replay and gap repair read it, sends only
    insert into it. PostgreSQL's statistics lag by up to a second."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SELECT pg_stat_clear_snapshot()")
        row = connection.execute(
            "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables"
            " WHERE relname = 'chat_streamevent'"
        ).fetchone()
    return int(row[0]) if row else 0


def backing_pid(server: Server, kind: str) -> int | None:
    for backing in server.backing:
        if type(backing).__name__ == kind and backing.process is not None:
            return backing.process.pid
    return None


async def run_load(cluster: Cluster, seeded: dict, args) -> tuple[Results, dict]:
    url, origin = f"ws://127.0.0.1:{cluster.port}/ws/", f"http://127.0.0.1:{cluster.port}"
    results = Results()
    worker_of: dict[int, int] = {}  # member index -> worker index
    sender_worker: dict[str, int] = {}  # client_msg_id -> the sender's worker
    split: dict[str, list[float]] = {"same": [], "cross": []}

    def on_delivery_for(index: int):
        def record(frame: dict, latency: float) -> None:
            sender = sender_worker.get(frame["message"]["client_msg_id"])
            split["same" if sender == worker_of.get(index) else "cross"].append(latency)

        return record

    pids = cluster.pids
    rss_before = sum(rss_kib(pid) for pid in pids)
    started = time.perf_counter()
    slots: list[list] = []
    readies, dones, tasks = [], [], []
    expected = args.warmup + args.messages
    for index, session in enumerate(seeded["sessions"]):
        ready, done, slot = asyncio.Event(), asyncio.Event(), []
        readies.append(ready)
        dones.append(done)
        slots.append(slot)
        coroutine = member(url, origin, session, results, expected, ready, done, slot, on_delivery_for(index))
        tasks.append(asyncio.create_task(coroutine))
        if len(tasks) % 50 == 0:
            await asyncio.gather(*(event.wait() for event in readies[-50:]))
    await asyncio.gather(*(event.wait() for event in readies))
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)
    rss_connected = sum(rss_kib(pid) for pid in pids)

    owners = connection_owners(cluster.port, pids)
    for index, slot in enumerate(slots):
        worker_of[index] = owners.get(slot[0].local_address[1], -1)
    on_worker = [[index for index in range(len(slots)) if worker_of[index] == w] for w in range(cluster.count)]
    # Senders on every worker, in turn (or all on the first worker with --senders-on first).
    senders = []
    sending_workers = 1 if args.senders_on == "first" else cluster.count
    for number in range(args.senders):
        members_here = on_worker[number % sending_workers] or list(range(len(slots)))  # a worker without members
        index = members_here[(number // sending_workers) % len(members_here)]
        senders.append((slots[index][0], worker_of[index]))

    # What the workers spend with everyone connected and nobody sending (periodic work, per process).
    idle_before = {pid: cpu_seconds(pid) for pid in pids}
    await asyncio.sleep(args.idle_seconds)
    idle_cores = [(cpu_seconds(pid) - idle_before[pid]) / args.idle_seconds for pid in pids]

    interval = 1.0 / args.rate
    for index in range(args.warmup):  # unmeasured: lazy imports and cold caches, in every worker
        socket_, _ = senders[index % len(senders)]
        frame = {"type": "message.send", "channel": seeded["channel"], "content": f"warm-up {index}"}
        await socket_.send(json.dumps({**frame, "client_msg_id": str(uuid.uuid4())}))
        await asyncio.sleep(interval)
    await asyncio.sleep(1.0)

    spies = []
    if args.py_spy:  # each worker sampled while sending (collapsed stacks, for flame graphs or grep)
        args.py_spy.mkdir(parents=True, exist_ok=True)
        seconds = str(int(args.messages / args.rate) + 5)
        for number, pid in enumerate(pids, 1):
            out = args.py_spy / f"{cluster.count}-workers-{number}-{pid}.txt"
            command = [PY_SPY, "record", "--pid", str(pid), "--rate", "100", "--duration", seconds]
            spies.append(subprocess.Popen([*command, "--format", "raw", "--nonblocking", "-o", str(out)]))
    cpu_before = {pid: cpu_seconds(pid) for pid in [*pids, os.getpid(), *cluster.extra_pids]}
    busy_before, total_before = machine_busy_seconds()
    load_before = load_average()
    reads_before = stream_event_reads(cluster.server.env["DATABASE_URL"])
    results.first_send = time.perf_counter()
    for index in range(args.messages):
        client_msg_id = str(uuid.uuid4())
        socket_, worker = senders[index % len(senders)]
        sender_worker[client_msg_id] = worker
        results.sent_at[client_msg_id] = time.perf_counter()
        frame = {
            "type": "message.send",
            "channel": seeded["channel"],
            "content": f"bench message {index}",
            "client_msg_id": client_msg_id,
        }
        await socket_.send(json.dumps(frame))
        next_at = results.first_send + (index + 1) * interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in dones)), timeout=args.drain_seconds)
    wall = max(1e-9, (results.last_delivery or time.perf_counter()) - results.first_send)
    cpu = {pid: cpu_seconds(pid) - before for pid, before in cpu_before.items()}
    busy_after, total_after = machine_busy_seconds()
    for spy in spies:
        spy.wait()
    await asyncio.sleep(1.5)  # PostgreSQL publishes a backend's statistics at most once a second
    reads = stream_event_reads(cluster.server.env["DATABASE_URL"]) - reads_before
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    info = {
        "stream_event_reads": reads,
        "cpu_seconds": sum(cpu[pid] for pid in pids),
        "connect_seconds": connect_seconds,
        "rss_before_kib": rss_before,
        "rss_connected_kib": rss_connected,
        "rss_after_kib": sum(rss_kib(pid) for pid in pids),
        "split": split,
        "members_per_worker": [len(group) for group in on_worker],
        "unplaced": sum(1 for worker in worker_of.values() if worker < 0),
        "senders_per_worker": [sum(1 for _, worker in senders if worker == w) for w in range(cluster.count)],
        "wall": wall,
        "cpu": cpu,
        "machine_busy": busy_after - busy_before,
        "machine_total": total_after - total_before,
        "load": f"{load_before} -> {load_average()}",
        "idle_cores": idle_cores,
    }
    return results, info


def measure(server: Server, seeded: dict, count: int, args) -> dict:
    flush_redis(server.env["REDIS_URL"])
    redis_pid = backing_pid(server, "RedisServer")
    cluster = Cluster(server, count, extra_pids=[redis_pid] if redis_pid else [], own_sessions=args.own_sessions)
    try:
        cluster.start()
        results, info = asyncio.run(run_load(cluster, seeded, args))
        pids = cluster.pids
    finally:
        cluster.stop()
    figures = summarise(f"{count} worker{'s' if count > 1 else ''} (PostgreSQL + Redis)", results, info, args)
    wall, cpu = info["wall"], info["cpu"]
    # Cores used while sending and draining (CPU seconds / wall seconds): where the 2 cores went.
    cores = {f"worker {number + 1}": cpu[pid] / wall for number, pid in enumerate(pids)}
    cores["load generator"] = cpu[os.getpid()] / wall
    for pid in cluster.extra_pids:
        cores["redis"] = cpu[pid] / wall
    measured = sum(cores.values())
    # The window of machine_busy runs past `wall` by the drain's end; scale it to the same window.
    window = max(1e-9, info["machine_total"] / (os.cpu_count() or 1))
    cores["everything else (PostgreSQL, other users)"] = max(0.0, info["machine_busy"] / window - measured)
    cores["machine, all"] = info["machine_busy"] / window
    for kind in ("same", "cross"):
        values = info["split"][kind]
        figures[f"{kind}_worker_deliveries"] = len(values)
        figures[f"{kind}_worker_p50_ms"] = percentile(values, 0.50) * 1000
        figures[f"{kind}_worker_p99_ms"] = percentile(values, 0.99) * 1000
    # Each is one socket's gap repair (or a sync): per message, how many sockets repaired a gap.
    figures["stream_event_reads_per_message"] = info["stream_event_reads"] / max(1, args.messages)
    figures["members_per_worker"] = info["members_per_worker"]
    figures["senders_per_worker"] = info["senders_per_worker"]
    figures["cores"] = cores
    figures["load_average"] = info["load"]
    for key in (
        "same_worker_deliveries",
        "same_worker_p50_ms",
        "same_worker_p99_ms",
        "cross_worker_deliveries",
        "cross_worker_p50_ms",
        "cross_worker_p99_ms",
        "stream_event_reads_per_message",
    ):
        value = figures[key]
        print(f"  {key:>20}: {value:,.1f}" if isinstance(value, float) else f"  {key:>20}: {value:,}")
    print(f"  {'members per worker':>20}: {info['members_per_worker']} (unplaced {info['unplaced']})")
    print(f"  {'senders per worker':>20}: {info['senders_per_worker']}")
    print(f"  {'load average':>20}: {info['load']}")
    print(f"  {'idle cores/worker':>20}: {', '.join(f'{value:.3f}' for value in info['idle_cores'])}")
    figures["idle_cores_per_worker"] = info["idle_cores"]
    print("  cores used while sending and draining:")
    for name, value in cores.items():
        print(f"    {name:>42}: {value:.2f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second, all senders together")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run, in order")
    parser.add_argument("--drain-seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=int, default=6, help="unmeasured messages sent first (from every worker)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="workers' idle CPU measured this long")
    parser.add_argument(
        "--senders-on",
        choices=["all", "first"],
        default="all",
        help="senders spread over every worker (default), or all on the first one",
    )
    parser.add_argument(
        "--own-sessions",
        action="store_true",
        help="start each worker in a session of its own (with autogroup scheduling, a CPU share of its own)",
    )
    parser.add_argument("--py-spy", type=Path, help="record each worker with py-spy into this folder")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load average {load_average()}")
    server = Server(baseline=False, stack="postgres-redis", members=args.members)
    runs: list[tuple[int, dict]] = []
    try:
        started = time.perf_counter()
        seeded = server.seed()
        print(f"seeded {args.members} members in {time.perf_counter() - started:.0f} s")
        for count in args.workers:
            runs.append((count, measure(server, seeded, count, args)))
    finally:
        for backing in server.backing:
            backing.stop()
    ones = [figures for count, figures in runs if count == 1]
    twos = [figures for count, figures in runs if count == 2]
    if ones and twos:
        one, two = ones[0], twos[0]
        print("\ntwo workers / one worker (same run):")
        pairs = [
            ("cross-worker p99 / one worker's p99", two["cross_worker_p99_ms"], one["p99_ms"]),
            ("p50", two["p50_ms"], one["p50_ms"]),
            ("p99", two["p99_ms"], one["p99_ms"]),
            ("deliveries/s", two["deliveries_per_s"], one["deliveries_per_s"]),
            ("server CPU per delivery", two["server_cpu_us_per_delivery"], one["server_cpu_us_per_delivery"]),
        ]
        for name, ours, base in pairs:
            print(f"  {name:>36}: {ours / base:.3g}x" if base else f"  {name:>36}: n/a")
    if args.json:
        args.json.write_text(json.dumps([{"workers": count, **figures} for count, figures in runs], indent=2))


if __name__ == "__main__":
    main()
