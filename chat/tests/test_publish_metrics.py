"""manage.py publish_metrics: the monthly active users, as an EMF line for CloudWatch or as text."""

from __future__ import annotations

import json
import uuid
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from chat.services import dashboards
from chat.services.messages import send_message
from hobbies.metrics.tests.test_emf import check_emf


def publish(**options) -> str:
    out = StringIO()
    call_command("publish_metrics", stdout=out, **options)
    return out.getvalue().strip()


def test_an_emf_line_with_the_monthly_active_users(room, make_user, settings):
    channel, mod, ann = room
    send_message(actor=ann, channel_id=channel.pk, content="hi", client_msg_id=uuid.uuid4())
    make_user("reader", last_login=timezone.now())  # signed in, never sent
    settings.METRICS_CLOUDWATCH = True
    settings.METRICS_NAMESPACE = "HobbiesCommunity"
    line = json.loads(publish())
    assert check_emf(line) == {"MonthlyActiveUsers": 2}
    assert (line["daily_active_users"], line["weekly_active_users"], line["event"]) == (2, 2, "active_users")


def test_text_without_cloudwatch(room, settings):
    settings.METRICS_CLOUDWATCH = False
    assert publish() == "active users: day=0 week=0 month=0"
    assert json.loads(publish(format="emf"))["MonthlyActiveUsers"] == 0


def test_the_counts_are_the_dashboards(room):
    channel, mod, ann = room
    send_message(actor=mod, channel_id=channel.pk, content="hi", client_msg_id=uuid.uuid4())
    counts = dashboards.active_user_counts()
    assert publish(format="text") == f"active users: day={counts['day']} week={counts['week']} month={counts['month']}"
