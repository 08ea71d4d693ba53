"""Relay Chime SDK messaging's events to the browsers (MESSAGING_BACKEND=chime; docs/chime.md).

    manage.py chime_relay [--once] [--allow-memory-layer]

Reads every shard of CHIME_EVENT_STREAM_ARN (Kinesis) and applies each record through the
services (chat/services/mirror.py), saving the shard's checkpoint in the same transaction; what a
record changes is published on commit to the channel layer, which carries it to every daphne
worker's hub. Run exactly one per stream; it stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import signal
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from chat.backends.chime import client
from chat.backends.chime.relay import Relay
from chat.services import mirror
from hobbies import metrics as app_metrics

# Parked events and tombstones outlive any record that could still need them (Kinesis keeps
# records 24 hours by default, at most 365 days: raise this with a longer retention).
PARKED_DAYS = 8
PRUNE_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = "Apply Chime's event stream (CHIME_EVENT_STREAM_ARN) to the database and the browsers, with checkpoints."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="read every shard once, then stop")
        parser.add_argument(
            "--allow-memory-layer",
            action="store_true",
            help="run without REDIS_URL (browsers in other processes then catch up only when they reconnect)",
        )

    def handle(self, *args, once: bool = False, allow_memory_layer: bool = False, **options) -> None:
        if settings.MESSAGING_BACKEND != "chime":
            raise CommandError("chime_relay needs MESSAGING_BACKEND=chime and the CHIME_* settings.")
        if not settings.REDIS_URL and not allow_memory_layer:
            raise CommandError(
                "chime_relay publishes to the daphne workers through the channel layer: set REDIS_URL "
                "(or pass --allow-memory-layer for a single-process check)."
            )
        stopping = []
        pruned_at = [0.0]

        def before_round() -> None:
            app_metrics.relay_lag(relay.metrics.lag_seconds)  # RelayLag / hobbies_relay_lag_seconds
            if not connection.in_atomic_block:
                close_old_connections()  # a long-running worker: never a stale connection
            if time.monotonic() - pruned_at[0] > PRUNE_EVERY_SECONDS:
                mirror.prune_parked(older_than=timedelta(days=PARKED_DAYS))
                pruned_at[0] = time.monotonic()

        relay = Relay(
            kinesis=client.kinesis(),
            stream_arn=settings.CHIME_EVENT_STREAM_ARN,
            sink=mirror,
            poll_seconds=settings.CHIME_RELAY_POLL_SECONDS,
            before_round=before_round,
        )
        if once:
            read = relay.poll()
            self.stdout.write(f"records={read} {relay.stats_line()}")
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stopping.append(True))
        relay.run(stop=lambda: bool(stopping))
