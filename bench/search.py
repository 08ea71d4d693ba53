"""Search benchmark (issue 17): one-word queries over N messages in C channels, p50/p95/max.

    .venv/bin/python bench/search.py --messages 1000000 --channels 1000
    .venv/bin/python bench/search.py --messages 200000 --database postgres

Builds a fresh install (its own SQLite file, or a PostgreSQL server started for the run), inserts
the messages in bulk (words drawn from a Zipf-like vocabulary, so some words are in a third of all
messages and some in a handful), fills the index (SQLite: chat/services/search_index.rebuild();
PostgreSQL: the generated column fills itself), then times chat.services.search.search() for a
member of 50 of the channels (10% of the channels are public) and for an administrator, over words
of every frequency, newest first and best match first. The target (docs/performance.md): p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.rig.databases import PostgresServer  # noqa: E402

VOCABULARY = 20_000
BATCH = 20_000


def word(rank: int) -> str:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "do", "gu", "fa"]
    out, n = [], rank + 1
    while n:
        n, r = divmod(n, len(syllables))
        out.append(syllables[r])
    return "".join(out) + "n"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hobbies.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(messages: int, channels: int, rng: random.Random) -> tuple[object, object]:
    from django.db import connection, transaction
    from django.utils import timezone

    from chat.models import Channel, Membership, Privacy, Role, Stream
    from chat.services import search_index
    from hobbies.accounts.models import User

    users = User.objects.bulk_create([User(username=f"user{index}") for index in range(200)])
    admin = User.objects.create_user("admin", is_staff=True, is_superuser=True)
    member = users[0]
    made = Channel.objects.bulk_create(
        [
            Channel(name=f"Channel {index}", privacy=Privacy.PUBLIC if index % 10 == 0 else Privacy.PRIVATE)
            for index in range(channels)
        ]
    )
    Stream.objects.bulk_create([Stream(key=str(channel.pk), channel=channel) for channel in made])
    Membership.objects.bulk_create(
        [Membership(channel=channel, user=member, role=Role.MEMBER) for channel in made[1::20]]
        + [Membership(channel=channel, user=users[1], role=Role.MODERATOR) for channel in made]
    )
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(VOCABULARY)))
    vocabulary = [word(rank) for rank in range(VOCABULARY)]
    now = timezone.now()
    table = "chat_message"
    columns = "channel_id, stream_id, seq, author_id, content, html, metadata, created_at"
    marks = ", ".join(["%s"] * 8)
    started = time.perf_counter()
    seqs = dict.fromkeys((channel.pk for channel in made), 0)
    for first in range(0, messages, BATCH):
        rows = []
        for index in range(first, min(messages, first + BATCH)):
            channel = made[index % channels].pk
            seqs[channel] += 1
            text = " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=rng.randint(6, 14)))
            rows.append((channel, str(channel), seqs[channel], users[index % 200].pk, text, "", "{}", now))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608
        print(f"\r  inserted {min(messages, first + BATCH):,} messages", end="", flush=True)
    with transaction.atomic():
        search_index.rebuild()
    print(f"\n  seeded in {time.perf_counter() - started:.0f} s (index included)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE chat_message")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return member, admin


def measure(person, words: list[str], order: str) -> list[float]:
    from django.db import reset_queries

    from chat.services.search import search

    timings = []
    for text in words:
        reset_queries()
        started = time.perf_counter()
        search(actor=person, text=text, order=order)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(f"  {label:<34} p50 {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   max {ordered[-1]:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    rng = random.Random(17)
    server = None
    with tempfile.TemporaryDirectory() as folder:
        if args.database == "postgres":
            server = PostgresServer().start()
            url = server.url
        else:
            url = f"sqlite:///{folder}/bench-{uuid.uuid4().hex}.sqlite3"
        try:
            print(f"search: {args.messages:,} messages in {args.channels:,} channels on {args.database}")
            setup_django(url)
            member, admin = seed(args.messages, args.channels, rng)
            # Words of every frequency: the 10 commonest, then ranks spread over the vocabulary.
            ranks = [rng.choice(range(10)) for _ in range(args.queries // 4)]
            ranks += [rng.choice(range(10, VOCABULARY)) for _ in range(args.queries - len(ranks))]
            words = [word(rank) for rank in ranks]
            measure(member, words[:5], "newest")  # warm the caches
            for person, name in ((member, "member of 50 channels"), (admin, "administrator")):
                for order in ("newest", "best"):
                    report(f"{name}, {order}", measure(person, words, order))
        finally:
            if server is not None:
                from django.db import connections

                connections.close_all()
                server.stop()


if __name__ == "__main__":
    main()
