"""chat/web/reports.py: the Report link under a message and the report form page (no JavaScript needed)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse

from chat.models import Report
from chat.services import messages as message_service
from chat.services import ratelimit, reports


def say(user, channel, content):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()
    ).message


@pytest.mark.django_db
def test_the_link_is_under_other_peoples_messages_only(client, room):
    channel, mod, ann = room
    theirs, mine, gone = say(mod, channel, "theirs"), say(ann, channel, "mine"), say(mod, channel, "gone")
    message_service.redact_message(actor=mod, message_id=gone.pk)
    client.force_login(ann)
    html = client.get(reverse("chat-conversation", args=[channel.pk])).content.decode()
    assert reverse("chat-report", args=[theirs.pk]) in html
    assert reverse("chat-report", args=[mine.pk]) not in html
    assert reverse("chat-report", args=[gone.pk]) not in html
    # Messages arriving live get theirs from a static script (no inline script: the CSP forbids it).
    assert f'data-report-url="{reverse("chat-report", args=[0])}"' in html


@pytest.mark.django_db
def test_reporting_without_javascript(client, room):
    channel, mod, ann = room
    message = say(mod, channel, "Buy **now**")
    client.force_login(ann)
    page = client.get(reverse("chat-report", args=[message.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<strong>now</strong>" in html  # the message as rendered, sanitised at send time
    # No inline script: external ones, and data for them as <script type="application/json">.
    assert not re.search(r'<script(?![^>]*\b(src=|type="application/json"))', html)
    assert " style=" not in html and "<style" not in html
    response = client.post(reverse("chat-report", args=[message.pk]), {"reason": "spam", "details": "third time"})
    assert response.status_code == 302
    assert (
        response["Location"] == f"{reverse('chat-conversation', args=[channel.pk])}?stream={channel.pk}#m{message.pk}"
    )
    report = Report.objects.get()
    assert (report.reporter, report.reported_user, report.reason, report.details) == (ann, mod, "spam", "third time")
    again = client.post(reverse("chat-report", args=[message.pk]), {"reason": "spam"})
    assert again.status_code == 400
    assert "already" in again.content.decode()


@pytest.mark.django_db
def test_a_reason_is_required(client, room):
    channel, mod, ann = room
    message = say(mod, channel, "hello")
    client.force_login(ann)
    response = client.post(reverse("chat-report", args=[message.pk]), {"details": "no reason"})
    assert response.status_code == 400
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_who_cannot_report(client, room, outsider):
    channel, mod, ann = room
    message = say(mod, channel, "hello")
    client.force_login(outsider)
    assert client.get(reverse("chat-report", args=[message.pk])).status_code == 404  # private: the usual 404
    client.force_login(mod)
    own = client.get(reverse("chat-report", args=[message.pk]))
    assert own.status_code == 403
    assert "your own message" in own.content.decode()
    assert client.get(reverse("chat-report", args=[10**9])).status_code == 404
    client.logout()
    assert client.get(reverse("chat-report", args=[message.pk])).status_code == 302


@pytest.mark.django_db
def test_too_many_reports_are_refused_politely(client, room, monkeypatch):
    channel, mod, ann = room
    bucket = ratelimit.TokenBucket(rate=1 / 3600, burst=1)
    monkeypatch.setattr(reports, "report_rate", lambda: bucket)
    first, second = say(mod, channel, "one"), say(mod, channel, "two")
    client.force_login(ann)
    assert client.post(reverse("chat-report", args=[first.pk]), {"reason": "spam"}).status_code == 302
    response = client.post(reverse("chat-report", args=[second.pk]), {"reason": "spam"})
    assert response.status_code == 429
    assert "many reports recently" in response.content.decode()
