"""Publish the figures counted from the database: the monthly active users, once a day (cron).

    manage.py publish_metrics [--format emf|text]

With METRICS_CLOUDWATCH=true (or --format emf) it prints one embedded-metric-format line,
MonthlyActiveUsers in METRICS_NAMESPACE with the daily and weekly figures as properties, for
CloudWatch Logs to turn into the metric; otherwise one line of text. Prometheus needs none of
this: /metrics counts hobbies_active_users when it is scraped.
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from chat.services import dashboards
from hobbies.metrics import emf, names


class Command(BaseCommand):
    help = "Print the active users (day, week, month): an EMF line for CloudWatch, or text."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            choices=["emf", "text"],
            help="emf: an embedded-metric-format line (the default with METRICS_CLOUDWATCH=true); text otherwise",
        )

    def handle(self, *args, format: str | None = None, **options) -> None:  # noqa: A002
        counts = dashboards.active_user_counts()
        if (format or ("emf" if settings.METRICS_CLOUDWATCH else "text")) == "text":
            self.stdout.write(f"active users: day={counts['day']} week={counts['week']} month={counts['month']}")
            return
        line = emf.document(
            settings.METRICS_NAMESPACE,
            int(time.time() * 1000),
            {names.ACTIVE_USERS.cloudwatch: (counts["month"], names.ACTIVE_USERS.unit)},
            event="active_users",
            daily_active_users=counts["day"],
            weekly_active_users=counts["week"],
        )
        self.stdout.write(json.dumps(line, separators=(",", ":")))
