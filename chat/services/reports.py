"""Reporting a message, and what the channel's moderators and the administrators do about it.

A report goes to a queue (the admin's Reports page, for that channel's moderators and the
administrators); it is never shown to the person it is about. Each handling is the ordinary
service underneath (redact_message, ban_user, set_active), so no rule can differ from the
pages, and it closes the open reports it settles.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as AccountRefused
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from chat import policy
from chat.events import publish_on_commit
from chat.exceptions import InvalidRequest, NotAllowed
from chat.models import Message, Report, ReportReason, ReportStatus
from chat.services import memberships, ratelimit
from chat.services import messages as message_services
from chat.services.access import get_channel_access, managed_channels
from chat.streams import StreamKey
from hobbies.accounts import services as account_services

MAX_DETAILS = 1000
CONTEXT_MESSAGES = 5  # shown before and after the reported message
NOT_FOUND = "That report does not exist."


class ReportRateLimited(InvalidRequest):
    def __init__(self, retry_after: float) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(f"You have sent many reports recently. Try again in about {minutes} minute(s).")
        self.retry_after = retry_after


@cache
def report_rate() -> ratelimit.TokenBucket | ratelimit.RedisTokenBucket:
    """REPORT_RATE_PER_HOUR reports per person, at most that many at once; in Redis when REDIS_URL is set."""
    per_hour = settings.REPORT_RATE_PER_HOUR
    if settings.REDIS_URL:
        return ratelimit.RedisTokenBucket(
            settings.REDIS_URL, rate=per_hour / 3600, burst=per_hour, prefix="hobbies:rate:report"
        )
    return ratelimit.TokenBucket(rate=per_hour / 3600, burst=per_hour)


# Reporting


def reportable_message(*, actor, message_id: int) -> Message:
    """The message `actor` may report. ChannelNotFound or InvalidRequest (both a 404 on the page)
    when they cannot read it, NotAllowed when it is theirs or already deleted."""
    message = Message.objects.with_author().filter(pk=message_id).first()
    if message is None or message.stream_id is None:
        raise InvalidRequest("That message does not exist.")
    access = get_channel_access(actor, message.channel_id)
    if not policy.can_read_stream(access, StreamKey.parse(message.stream_id)):
        raise InvalidRequest("That message does not exist.")
    if not policy.can_report(access, message):
        raise NotAllowed(_report_refusal(actor, message))
    return message


def _report_refusal(actor, message: Message) -> str:
    if message.author_id == actor.pk:
        return "You cannot report your own message."
    if message.redacted_at is not None:
        return "That message has been deleted already."
    return "You cannot report this message."


def report_message(*, actor, message_id: int, reason: str, details: str = "") -> Report:
    if reason not in ReportReason.values:
        raise InvalidRequest("Choose a reason for the report.")
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise InvalidRequest(f"Say it in at most {MAX_DETAILS} characters.")
    try:
        with transaction.atomic():
            message = reportable_message(actor=actor, message_id=message_id)
            if Report.objects.filter(message=message, reporter=actor).exists():
                raise InvalidRequest("You have reported this message already; the moderators have it.")
            if wait := report_rate().take(actor.pk):
                raise ReportRateLimited(wait)
            report = Report.objects.create(
                message=message,
                channel_id=message.channel_id,
                reported_user_id=message.author_id,
                reporter=actor,
                reason=reason,
                details=details,
            )
            # Logged after commit (chat.events); never sent to the channel: reports are confidential.
            publish_on_commit(
                message.channel,
                "report.created",
                {"report_id": report.pk, "message_id": message.pk, "reason": reason, "by": actor.pk},
            )
    except IntegrityError:
        # The same person's second report of the same message, at the same moment.
        raise InvalidRequest("You have reported this message already; the moderators have it.") from None
    return report


# The queue


def visible_reports(user) -> QuerySet[Report]:
    """The reports `user` may see: those of the channels they moderate (all for administrators),
    never one about themselves."""
    return Report.objects.filter(channel__in=managed_channels(user)).not_about(user)


def report_context(*, actor, report: Report) -> list[Message]:
    """The reported message with up to CONTEXT_MESSAGES messages before and after it in its stream."""
    access = policy.access_for(actor, report.channel)
    if not policy.can_handle_report(access, report):
        raise InvalidRequest(NOT_FOUND)
    message = report.message
    if message is None or message.seq is None:
        return [message] if message is not None else []
    stream = Message.objects.with_author().filter(stream_id=message.stream_id)
    before = list(stream.filter(seq__lt=message.seq).order_by("-seq")[:CONTEXT_MESSAGES])
    after = list(stream.filter(seq__gt=message.seq).order_by("seq")[:CONTEXT_MESSAGES])
    return [*reversed(before), message, *after]


# Handling


def _report_to_handle(actor, report_id: int) -> tuple[Report, policy.ChannelAccess]:
    report = (
        Report.objects.select_for_update(of=("self",))
        .select_related("channel", "message", "reported_user")
        .filter(pk=report_id)
        .first()
    )
    if report is None:
        raise InvalidRequest(NOT_FOUND)
    access = policy.access_for(actor, report.channel)
    if not policy.can_handle_report(access, report):
        # The same answer for "no such report" and "not yours to see" (its subject included).
        raise InvalidRequest(NOT_FOUND)
    return report, access


def _close(reports: QuerySet[Report], *, actor, status: str, outcome: str) -> int:
    return reports.filter(status=ReportStatus.OPEN).update(
        status=status, outcome=outcome, handled_by=actor, handled_at=timezone.now()
    )


def _announce(report: Report, outcome: str, actor) -> None:
    publish_on_commit(report.channel, "report.handled", {"report_id": report.pk, "outcome": outcome, "by": actor.pk})


def dismiss_report(*, actor, report_id: int) -> Report:
    """Nothing to do about it: the report is closed."""
    with transaction.atomic():
        report, _ = _report_to_handle(actor, report_id)
        if not report.is_open:
            raise InvalidRequest("That report has been handled already.")
        _close(Report.objects.filter(pk=report.pk), actor=actor, status=ReportStatus.DISMISSED, outcome="dismissed")
        _announce(report, "dismissed", actor)
    report.refresh_from_db()
    return report


def redact_reported_message(*, actor, report_id: int) -> Report:
    """Delete the message for everyone ("(Deleted)"); every open report of it is resolved."""
    with transaction.atomic():
        report, _ = _report_to_handle(actor, report_id)
        if report.message_id is None:
            raise InvalidRequest("The message has been removed already.")
        message_services.redact_message(actor=actor, message_id=report.message_id)
        reports = Report.objects.filter(message_id=report.message_id)
        _close(reports, actor=actor, status=ReportStatus.RESOLVED, outcome="redacted")
        _announce(report, "redacted", actor)
    report.refresh_from_db()
    return report


def ban_reported_author(*, actor, report_id: int, reason: str = "", expires_at: datetime | None = None) -> Report:
    """Ban the author from the report's channel; every open report about them there is resolved."""
    with transaction.atomic():
        report, _ = _report_to_handle(actor, report_id)
        author = report.reported_user
        if author is None:
            raise InvalidRequest("The author's account no longer exists.")
        reason = reason.strip() or f"Reported: {report.get_reason_display()}"
        memberships.ban_user(actor=actor, channel=report.channel, user=author, reason=reason, expires_at=expires_at)
        reports = Report.objects.filter(channel=report.channel, reported_user=author)
        _close(reports, actor=actor, status=ReportStatus.RESOLVED, outcome="banned")
        _announce(report, "banned", actor)
    report.refresh_from_db()
    return report


def deactivate_reported_author(*, actor, report_id: int) -> Report:
    """Administrators: the author's account is deactivated (no more sign-in anywhere); every open
    report about them, in any channel, is resolved."""
    with transaction.atomic():
        report, access = _report_to_handle(actor, report_id)
        if not policy.can_deactivate_from_report(access, report):
            raise NotAllowed("Only administrators deactivate accounts.")
        author = report.reported_user
        if author is None:
            raise InvalidRequest("The author's account no longer exists.")
        try:
            account_services.set_active(actor=actor, user=author, active=False)
        except (PermissionDenied, AccountRefused) as error:
            raise NotAllowed(_first_message(error)) from None
        reports = Report.objects.filter(reported_user=author)
        _close(reports, actor=actor, status=ReportStatus.RESOLVED, outcome="deactivated")
        _announce(report, "deactivated", actor)
    report.refresh_from_db()
    return report


def _first_message(error: Exception) -> str:
    return error.messages[0] if isinstance(error, AccountRefused) else str(error)
