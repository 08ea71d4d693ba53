"""Remove uploads that were never attached to a message (and their thumbnails) after a while.

    manage.py cleanup_attachments [--older-than HOURS] [--dry-run] [--batch-size N]

Also removes rows whose message was hard-deleted without going through delete_for_message.
Safe to run while people upload: only rows older than the cut-off are looked at.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from chat.attachments.checks import human_size
from chat.services import attachments


class Progress:
    """A plain-text progress bar on stderr (stdout stays for the summary), for large runs."""

    WIDTH = 30

    def __init__(self, total: int, stream: OutputWrapper) -> None:
        self.total, self.done, self.stream = total, 0, stream

    def advance(self, count: int) -> None:
        self.done += count
        filled = self.WIDTH * self.done // self.total if self.total else self.WIDTH
        percent = 100 * self.done // self.total if self.total else 100
        end = "\n" if self.done >= self.total else ""
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {percent}%{end}", ending="")
        self.stream.flush()


class Command(BaseCommand):
    help = "Delete uploads never attached to a message after --older-than hours (default 24), with their files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=float, default=24.0, metavar="HOURS")
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be deleted.")
        parser.add_argument("--batch-size", type=int, default=500, metavar="N")

    def handle(self, *args, older_than: float, dry_run: bool, batch_size: int, **options) -> None:
        if older_than < 0 or batch_size < 1:
            raise CommandError("--older-than must be 0 or more and --batch-size at least 1.")
        stale = attachments.stale_uploads(older_than=timedelta(hours=older_than))
        total = stale.count()
        if dry_run:
            size = sum(stale.values_list("size", flat=True).iterator())
            self.stdout.write(f"Would delete {total} upload(s), {human_size(size)}, older than {older_than:g} h.")
            return
        progress = Progress(total, self.stderr)
        deleted, last_pk = 0, 0
        while True:
            # Keyset batches: each query is small and rows deleted meanwhile never shift the window.
            batch = list(stale.filter(pk__gt=last_pk)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1].pk
            deleted += attachments.purge(batch)
            progress.advance(len(batch))
        self.stdout.write(f"Deleted {deleted} upload(s) older than {older_than:g} h.")
