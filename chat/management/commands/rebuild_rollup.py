"""Rebuild the dashboards' rollup from the messages (chat/services/rollup.py).

    manage.py rebuild_rollup [--days N]

The services keep the rollup as messages are sent; run this after an import, a restore, or to
count messages the app did not send itself (written by the Chime relay from another client). It
recomputes messages and senders per channel and hour, and messages per person and day, for every
message or those of the last N days; refused sends and delivery latency are kept (they are not
in the messages).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.services import rollup


class Command(BaseCommand):
    help = "Recompute the dashboards' per-channel hourly and per-person daily counts from the messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="only the last N days (default: every message)")

    def handle(self, *args, days: int | None = None, **options) -> None:
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        counts = rollup.rebuild(days=days)
        self.stdout.write(f"rollup rebuilt: {counts['hours']} channel hours, {counts['user_days']} person days")
