"""chat/services/reports.py: who reports what, the rate limit, the queue, and each handling."""

from __future__ import annotations

import uuid

import pytest

from chat.exceptions import ChannelNotFound, InvalidRequest, NotAllowed
from chat.models import Ban, Membership, Message, Privacy, Report, ReportStatus
from chat.services import ratelimit, reports
from chat.services.memberships import add_members, promote_moderator
from chat.services.messages import redact_message, send_message

# The real limiter (chat/conftest.py swaps in a roomy one for every other test).
REAL_REPORT_RATE = reports.report_rate


def say(user, channel, content="hello") -> Message:
    return send_message(actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()).message


@pytest.fixture
def reported(room, make_user):
    """`room` (mod moderates, ann is a member) with bob, whose message ann reports."""
    channel, mod, ann = room
    bob = make_user("bob")
    add_members(actor=mod, channel=channel, users=[bob])
    message = say(bob, channel, "rude words")
    report = reports.report_message(actor=ann, message_id=message.pk, reason="harassment", details=" Twice now ")
    return channel, mod, ann, bob, message, report


@pytest.mark.django_db
def test_a_report_records_the_message_its_author_and_the_reporter(
    reported, django_capture_on_commit_callbacks, published
):
    channel, mod, ann, bob, message, report = reported
    assert (report.channel, report.reported_user, report.reporter) == (channel, bob, ann)
    assert (report.reason, report.details, report.status) == ("harassment", "Twice now", ReportStatus.OPEN)
    with django_capture_on_commit_callbacks(execute=True):
        reports.report_message(actor=mod, message_id=message.pk, reason="spam")
    # Logged after commit, never broadcast to the channel's stream: reports are confidential.
    assert [event["type"] for event in published] == ["report.created"]
    assert "Twice now" not in str(published)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "error", "text"),
    [
        ("own", NotAllowed, "You cannot report your own message."),
        ("deleted", NotAllowed, "deleted already"),
        ("twice", InvalidRequest, "reported this message already"),
        ("reason", InvalidRequest, "Choose a reason"),
        ("long", InvalidRequest, "at most 1000 characters"),
        ("missing", InvalidRequest, "does not exist"),
    ],
)
def test_refusals(reported, case, error, text):
    channel, mod, ann, bob, message, report = reported
    arguments = {"actor": ann, "message_id": message.pk, "reason": "spam"}
    if case == "own":
        arguments["actor"] = bob
    elif case == "deleted":
        redact_message(actor=bob, message_id=message.pk)
        arguments["actor"] = mod
    elif case == "reason":
        arguments |= {"actor": mod, "reason": "boring"}
    elif case == "long":
        arguments |= {"actor": mod, "details": "x" * 1001}
    elif case == "missing":
        arguments |= {"actor": mod, "message_id": 10**9}
    with pytest.raises(error, match=text):
        reports.report_message(**arguments)


@pytest.mark.django_db
def test_people_who_cannot_read_the_message_cannot_report_it(reported, outsider):
    channel, mod, ann, bob, message, report = reported
    assert channel.privacy == Privacy.PRIVATE
    with pytest.raises(ChannelNotFound):
        reports.report_message(actor=outsider, message_id=message.pk, reason="spam")


@pytest.mark.django_db
def test_reporting_is_rate_limited(room, make_user, monkeypatch):
    channel, mod, ann = room
    bucket = ratelimit.TokenBucket(rate=2 / 3600, burst=2)
    monkeypatch.setattr(reports, "report_rate", lambda: bucket)
    messages = [say(mod, channel, f"m{number}") for number in range(3)]
    for message in messages[:2]:
        reports.report_message(actor=ann, message_id=message.pk, reason="spam")
    with pytest.raises(reports.ReportRateLimited, match="Try again in about"):
        reports.report_message(actor=ann, message_id=messages[2].pk, reason="spam")
    assert Report.objects.count() == 2


@pytest.mark.django_db
def test_the_real_limit_comes_from_the_setting(settings):
    settings.REPORT_RATE_PER_HOUR = 3
    settings.REDIS_URL = ""
    REAL_REPORT_RATE.cache_clear()
    try:
        bucket = REAL_REPORT_RATE()
        assert (bucket.burst, bucket.rate) == (3, 3 / 3600)
    finally:
        REAL_REPORT_RATE.cache_clear()


@pytest.mark.django_db
def test_the_queue_is_the_moderators_and_administrators_never_the_reported(reported, make_administrator, outsider):
    channel, mod, ann, bob, message, report = reported
    assert list(reports.visible_reports(mod)) == [report]
    assert list(reports.visible_reports(make_administrator())) == [report]
    assert list(reports.visible_reports(outsider)) == []
    assert list(reports.visible_reports(ann)) == []
    promote_moderator(actor=mod, channel=channel, user=bob)
    assert list(reports.visible_reports(bob)) == []  # a moderator now, and still never told
    with pytest.raises(InvalidRequest, match="does not exist"):
        reports.dismiss_report(actor=bob, report_id=report.pk)


@pytest.mark.django_db
def test_context_is_five_messages_before_and_after_in_the_stream(room):
    channel, mod, ann = room
    before = [say(ann, channel, f"b{number}") for number in range(7)]
    message = say(ann, channel, "reported")
    after = [say(ann, channel, f"a{number}") for number in range(7)]
    report = reports.report_message(actor=mod, message_id=message.pk, reason="other")
    context = reports.report_context(actor=mod, report=report)
    assert context == [*before[2:], message, *after[:5]]
    with pytest.raises(InvalidRequest):
        reports.report_context(actor=ann, report=report)


@pytest.mark.django_db
def test_dismiss(reported):
    channel, mod, ann, bob, message, report = reported
    handled = reports.dismiss_report(actor=mod, report_id=report.pk)
    assert (handled.status, handled.outcome, handled.handled_by) == (ReportStatus.DISMISSED, "dismissed", mod)
    assert handled.handled_at is not None
    with pytest.raises(InvalidRequest, match="handled already"):
        reports.dismiss_report(actor=mod, report_id=report.pk)


@pytest.mark.django_db
def test_redact_resolves_every_report_of_the_message(reported):
    channel, mod, ann, bob, message, report = reported
    second = reports.report_message(actor=mod, message_id=message.pk, reason="spam")
    reports.redact_reported_message(actor=mod, report_id=report.pk)
    assert Message.objects.get(pk=message.pk).redacted_at is not None
    assert set(Report.objects.values_list("status", "outcome")) == {(ReportStatus.RESOLVED, "redacted")}
    assert Report.objects.get(pk=second.pk).handled_by == mod


@pytest.mark.django_db
def test_ban_the_author_with_a_reason_and_an_end(reported):
    channel, mod, ann, bob, message, report = reported
    reports.ban_reported_author(actor=mod, report_id=report.pk, reason="")
    ban = Ban.objects.get(channel=channel, user=bob)
    assert ban.reason == "Reported: Harassment or bullying"
    assert not Membership.objects.filter(channel=channel, user=bob).exists()
    assert Report.objects.get(pk=report.pk).outcome == "banned"


@pytest.mark.django_db
def test_moderators_are_not_banned_from_a_report(reported):
    channel, mod, ann, bob, message, report = reported
    promote_moderator(actor=mod, channel=channel, user=bob)
    with pytest.raises(NotAllowed, match="cannot be banned"):
        reports.ban_reported_author(actor=mod, report_id=report.pk)
    assert Report.objects.get(pk=report.pk).is_open


@pytest.mark.django_db
def test_only_administrators_deactivate_and_every_report_about_the_author_closes(
    reported, make_administrator, make_channel
):
    channel, mod, ann, bob, message, report = reported
    elsewhere = make_channel(bob, name="Bob's own")
    add_members(actor=bob, channel=elsewhere, users=[ann])
    other = reports.report_message(actor=ann, message_id=say(bob, elsewhere).pk, reason="spam")
    with pytest.raises(NotAllowed, match="Only administrators"):
        reports.deactivate_reported_author(actor=mod, report_id=report.pk)
    reports.deactivate_reported_author(actor=make_administrator(), report_id=report.pk)
    bob.refresh_from_db()
    assert not bob.is_active
    assert Report.objects.get(pk=other.pk).outcome == "deactivated"


@pytest.mark.django_db
def test_administrators_do_not_deactivate_each_other(room, make_administrator):
    channel, mod, ann = room
    first, second = make_administrator("first"), make_administrator("second")
    add_members(actor=mod, channel=channel, users=[first, second])
    report = reports.report_message(actor=ann, message_id=say(second, channel).pk, reason="spam")
    with pytest.raises(NotAllowed, match="cannot change whether second is active"):
        reports.deactivate_reported_author(actor=first, report_id=report.pk)


@pytest.mark.django_db
def test_a_report_outlives_its_message_being_removed(reported, admin_user):
    channel, mod, ann, bob, message, report = reported
    from chat.services.messages import delete_message

    delete_message(actor=admin_user, message_id=message.pk)
    report.refresh_from_db()
    assert (report.message, report.reported_user) == (None, bob)
    assert reports.report_context(actor=mod, report=report) == []
    with pytest.raises(InvalidRequest, match="removed already"):
        reports.redact_reported_message(actor=mod, report_id=report.pk)
