"""Bring the database and Chime SDK messaging together outside the event stream (docs/chime.md).

    manage.py chime_sync --channel ID [--channel ID ...]   reconcile channels' messages from Chime
    manage.py chime_sync --all                              ... every channel that is in Chime
    manage.py chime_sync --provision                        create existing people and channels in Chime

Reconciling is for an outage longer than the event stream's retention: ListChannelMessages is
read to its last page and applied like the relay applies records (idempotent, safe to repeat).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.exceptions import ChatError
from chat.models import Channel
from chat.services import chime_sync


class Command(BaseCommand):
    help = "Reconcile channels from Chime (--channel ID, --all) or create existing people and channels there."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--channel", type=int, action="append", dest="channels", metavar="ID")
        target.add_argument("--all", action="store_true", help="every channel that is in Chime")
        target.add_argument("--provision", action="store_true", help="create people and channels in Chime")

    def handle(self, *args, channels=None, all=False, provision=False, **options) -> None:  # noqa: A002
        if settings.MESSAGING_BACKEND != "chime":
            raise CommandError("chime_sync needs MESSAGING_BACKEND=chime and the CHIME_* settings.")
        try:
            if provision:
                self._provision()
                return
            targets = Channel.objects.exclude(chime_arn=None) if all else Channel.objects.filter(pk__in=channels)
            if channels and targets.count() != len(set(channels)):
                raise CommandError("No such channel: " + ", ".join(map(str, sorted(set(channels)))))
            for channel in targets.order_by("pk"):
                counts = chime_sync.reconcile_channel(channel)
                summary = " ".join(f"{outcome}={count}" for outcome, count in sorted(counts.items()))
                self.stdout.write(f"channel={channel.pk} {summary or 'nothing'}")
        except ChatError as error:
            raise CommandError(str(error)) from error

    def _provision(self) -> None:
        people = chime_sync.provision_users()
        self.stdout.write(f"users={people}")
        for channel in Channel.objects.filter(chime_arn=None).order_by("pk"):
            chime_sync.provision_channel(channel)
            self.stdout.write(f"channel={channel.pk} channel_arn={channel.chime_arn}")
