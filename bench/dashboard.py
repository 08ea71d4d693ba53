"""Dashboard benchmark: render time and queries of /dashboard/ and a channel's with many messages.

    .venv/bin/python bench/dashboard.py --messages 1000000

Makes a fresh SQLite install in a temporary folder (or uses --data-dir), fills it with N messages
spread over a year in --channels channels by --people people (written straight into the table, in
batches: the services would take hours), builds the rollup with `manage.py rebuild_rollup`'s
service, adds refusals, sign-ins and delivery latency for the last days, then renders both pages
with Django's test client (the whole middleware stack, templates included) and prints the median
and slowest render and the number of queries of each.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_TEXT = (
    "knitting wool socks pattern yarn needles chess opening gambit endgame pottery kiln glaze clay garden "
    "tomatoes seeds compost photo lens light hiking trail map weekend meetup fair sunday evening question"
)
WORDS = _TEXT.split()
EMOJI = ["🧶", "👍", "🎉", "😂", "❤️", "🌱", "📷", "♟️"]


def setup_django(data_dir: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hobbies.settings")
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{data_dir / 'db.sqlite3'}")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()


def fill(messages: int, channels: int, people: int, seed: int) -> dict:
    from django.core.management import call_command
    from django.db import connection, transaction

    from chat.models import Channel, Membership, Message, Privacy, ReadMarker, Stream
    from chat.services.channels import create_channel
    from hobbies.accounts.models import LoginEvent, Profile, User

    call_command("migrate", verbosity=0)
    rng = random.Random(seed)
    started = time.perf_counter()
    admin = User.objects.create_superuser("admin", password="Bench#Pass1", is_staff=True)
    Profile.objects.create(user=admin)
    users = User.objects.bulk_create([User(username=f"person{n:05}", is_active=True) for n in range(people)])
    Profile.objects.bulk_create([Profile(user=user) for user in users])
    rooms = [create_channel(actor=admin, name=f"Room {n:03}", privacy=Privacy.PUBLIC) for n in range(channels)]
    Membership.objects.bulk_create(
        [Membership(channel=room, user=user) for room in rooms for user in rng.sample(users, min(people, 200))],
        ignore_conflicts=True,
    )
    # Busier channels and people first (a long tail, as in real communities).
    channel_weights = [1 / (rank + 1) for rank in range(channels)]
    user_weights = [1 / (rank + 1) ** 0.8 for rank in range(people)]
    now = datetime.now(UTC)
    start = now - timedelta(days=365)
    seqs = dict.fromkeys((room.pk for room in rooms), 0)
    table = connection.ops.quote_name(Message._meta.db_table)
    columns = "channel_id, stream_id, seq, author_id, content, html, metadata, created_at"
    sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
    batch_size = 20_000
    # Times in order, denser in the evenings, and the last day as busy as any.
    times = sorted(start + timedelta(seconds=rng.random() * 365 * 86400) for _ in range(messages))
    for offset in range(0, messages, batch_size):
        rows = []
        for at in times[offset : offset + batch_size]:
            room = rng.choices(rooms, channel_weights)[0]
            author = rng.choices(users, user_weights)[0]
            seqs[room.pk] += 1
            text = " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))
            if rng.random() < 0.3:
                text += " " + rng.choice(EMOJI)
            stored_at = connection.ops.adapt_datetimefield_value(at)  # as Django stores it
            rows.append((room.pk, str(room.pk), seqs[room.pk], author.pk, text, f"<p>{text}</p>", "{}", stored_at))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        print(f"  {min(offset + batch_size, messages):,} messages", end="\r", flush=True)
    for room in rooms:
        Stream.objects.filter(channel=room).update(last_seq=seqs[room.pk])
    # The administrator has read their channels (the page's sidebar counts what is unread; a
    # million unread messages is the sidebar's benchmark, not this one's).
    ReadMarker.objects.bulk_create(
        [ReadMarker(user=admin, stream_id=str(room.pk), last_read_seq=seqs[room.pk]) for room in rooms],
        ignore_conflicts=True,
    )
    LoginEvent.objects.bulk_create(
        [LoginEvent(user=rng.choice(users), method="password") for _ in range(min(20_000, people * 10))]
    )
    print(f"\n  filled in {time.perf_counter() - started:.0f} s")
    return {"admin": admin, "busiest": Channel.objects.get(pk=rooms[0].pk)}


def rollup(rng: random.Random) -> None:
    from django.utils import timezone

    from chat.models import ChannelHour, ChannelUserDay
    from chat.services import rollup as rollup_service
    from hobbies.metrics import latency, names

    started = time.perf_counter()
    counts = rollup_service.rebuild()
    print(f"  rollup rebuilt in {time.perf_counter() - started:.0f} s: {counts}")
    recent = list(ChannelHour.objects.filter(hour__gte=timezone.now() - timedelta(days=2)))
    for row in recent:
        buckets = latency.empty(names.LATENCY_BOUNDS)
        for _ in range(50):
            latency.record(buckets, names.LATENCY_BOUNDS, rng.lognormvariate(-3.5, 0.7))
        row.latency, row.deliveries, row.errors = buckets, 50 * row.messages, rng.randint(0, 3)
    ChannelHour.objects.bulk_update(recent, ["latency", "deliveries", "errors"])
    days = list(ChannelUserDay.objects.filter(day__gte=timezone.now().date() - timedelta(days=7))[:5000])
    for row in days:
        row.refused = rng.choice([0, 0, 0, 1, 2, 5])
    ChannelUserDay.objects.bulk_update(days, ["refused"])
    print(f"  rollup: {ChannelHour.objects.count():,} channel hours, {ChannelUserDay.objects.count():,} person days")


def render(client, path: str, times: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    durations = []
    queries = 0
    for _ in range(times):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return durations, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--data-dir", type=Path, help="an existing benchmark folder to render again")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="hobbies-dashboard-"))
    fresh = not (data_dir / "db.sqlite3").exists()
    setup_django(data_dir)
    from django.test import Client

    from chat.models import Channel, Message
    from hobbies.accounts.models import User

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; data in {data_dir}")
    if fresh:
        fill(args.messages, args.channels, args.people, args.seed)
        rollup(random.Random(args.seed))
    admin = User.objects.get(username="admin")
    busiest = Channel.objects.order_by("pk").first()
    print(f"  {Message.objects.count():,} messages in {Channel.objects.count()} channels")
    client = Client()
    client.force_login(admin)
    from chat.services import dashboards

    for label, read in (
        ("/dashboard/", lambda: dashboards.community_figures(actor=admin)),
        ("a channel's", lambda: dashboards.channel_figures(actor=admin, channel_id=busiest.pk)),
    ):
        read()
        durations = []
        for _ in range(args.renders):
            started = time.perf_counter()
            read()
            durations.append((time.perf_counter() - started) * 1000)
        print(
            f"{label:>12} figures alone: median {statistics.median(durations):.1f} ms, slowest {max(durations):.1f} ms"
        )
    for label, path in (("/dashboard/", "/dashboard/"), ("a channel's", f"/channels/{busiest.pk}/dashboard/")):
        render(client, path, 2)  # warm: templates compiled, caches filled
        durations, queries = render(client, path, args.renders)
        print(
            f"{label:>12} render: median {statistics.median(durations):.1f} ms, "
            f"slowest {max(durations):.1f} ms over {len(durations)} renders, {queries} queries"
        )


if __name__ == "__main__":
    main()
