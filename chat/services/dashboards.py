"""The dashboards' figures: the community's (administrators) and one channel's (its moderators too).

Everything comes from the rollup (ChannelHour, ChannelUserDay: chat/services/activity.py), the
login events, the accounts and the live connection count, never from counting the messages, so a
page takes the same few queries with a thousand messages or a million; the keyword trends read at
most trends.SAMPLE recent messages of at most TREND_CHANNELS channels.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.utils import timezone

from chat import policy
from chat.exceptions import ChannelNotFound
from chat.models import Channel, ChannelHour, ChannelUserDay, Membership, PersonActivity
from chat.services import presence, trends
from chat.services.access import get_channel_access
from chat.services.activity import hour_of
from hobbies import metrics
from hobbies.accounts.models import Approval
from hobbies.metrics import latency, names

HOURS = 24
DAYS = 30
TOP = 10
TREND_CHANNELS = 5
TREND_DAYS = 7
WINDOWS = {"day": 1, "week": 7, "month": 30}


@dataclass(frozen=True)
class Period:
    messages: int = 0
    errors: int = 0
    deliveries: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def error_rate(self) -> float | None:
        attempts = self.messages + self.errors
        return 100 * self.errors / attempts if attempts else None


@dataclass
class Figures:
    channel: Channel | None  # None: the whole community
    now: datetime
    by_hour: list[tuple[datetime, int]]
    by_day: list[tuple[date, int]]
    this_hour: Period
    last_day: Period
    active: dict[str, int]
    connected: int
    busiest: list[tuple[str, int]]
    refused: list[tuple[str, int]]
    trends: list[tuple[Channel, trends.Trends]]
    top_by_messages: list[tuple[Channel, int]] = field(default_factory=list)
    top_by_members: list[tuple[Channel, int]] = field(default_factory=list)
    registrations: dict[str, int] = field(default_factory=dict)


# Who sees what


def community_figures(*, actor) -> Figures:
    """The administrators' dashboard; anyone else gets ChannelNotFound (a 404, like a missing page)."""
    if not policy.can_see_community_dashboard(actor):
        raise ChannelNotFound("There is no such page.")
    return _figures(None)


def channel_figures(*, actor, channel_id: int) -> Figures:
    """One channel's dashboard for its moderators and the administrators; a 404 for anyone else."""
    access = get_channel_access(actor, channel_id)
    if not policy.can_see_channel_dashboard(access):
        raise ChannelNotFound()
    return _figures(access.channel)


def dashboard_channels(*, actor) -> list[Channel]:
    """The channels whose dashboard `actor` may open from /dashboard/ without being an administrator."""
    if not actor.is_authenticated or not actor.is_active:
        return []
    return list(Channel.objects.moderated_by(actor).filter(is_direct=False).order_by("name"))


def dashboard_home(*, actor) -> Figures | list[Channel]:
    """/dashboard/: the community's figures for administrators, the list of their channels'
    dashboards for moderators, a 404 for everyone else."""
    if policy.can_see_community_dashboard(actor):
        return _figures(None)
    if channels := dashboard_channels(actor=actor):
        return channels
    raise ChannelNotFound("There is no such page.")


def has_dashboard(user) -> bool:
    """Whether the header links to /dashboard/: administrators, and moderators of a channel."""
    if policy.can_see_community_dashboard(user):
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    return Channel.objects.moderated_by(user).filter(is_direct=False).exists()


# The figures


def _period(rows: list[dict]) -> Period:
    buckets = latency.merge_all((row["latency"] for row in rows if row["latency"]), names.LATENCY_BOUNDS)

    def ms(q: float) -> float | None:
        value = latency.quantile(buckets, names.LATENCY_BOUNDS, q)
        return None if value is None else value * 1000

    return Period(
        messages=sum(row["messages"] for row in rows),
        errors=sum(row["errors"] for row in rows),
        deliveries=sum(row["deliveries"] for row in rows),
        p50_ms=ms(0.5),
        p99_ms=ms(0.99),
    )


def _figures(channel: Channel | None) -> Figures:
    now = timezone.now()
    current = hour_of(now)
    first_hour = current - timedelta(hours=HOURS - 1)
    today = current.date()
    hours = ChannelHour.objects.all()
    days = ChannelUserDay.objects.all()
    if channel is not None:
        hours, days = hours.filter(channel=channel), days.filter(channel=channel)

    recent = list(
        hours.filter(hour__gte=first_hour).values("hour", "messages", "errors", "deliveries", "latency")
    )  # query: the last 24 hours, every channel's rows
    per_hour = dict.fromkeys((first_hour + timedelta(hours=n) for n in range(HOURS)), 0)
    for row in recent:
        per_hour[hour_of(row["hour"])] = per_hour.get(hour_of(row["hour"]), 0) + row["messages"]

    first_day = today - timedelta(days=DAYS - 1)
    per_day = dict.fromkeys((first_day + timedelta(days=n) for n in range(DAYS)), 0)
    # Summed per hour by the database (the hour index, at most 720 rows), per day here: a date
    # function on every row would cost more than the sum.
    hourly = hours.filter(hour__gte=current.replace(hour=0) - timedelta(days=DAYS - 1)).values("hour")
    for row in hourly.annotate(count=Sum("messages")).order_by():  # query
        day = hour_of(row["hour"]).date()
        per_day[day] = per_day.get(day, 0) + (row["count"] or 0)

    week_ago = today - timedelta(days=TREND_DAYS - 1)
    # The week's rows (channels x hours, channels x people x days) added up here in one pass each:
    # grouped by channel in SQL, SQLite would walk the (channel, ...) index through every year.
    week_people = list(days.filter(day__gte=week_ago).values_list("channel_id", "user_id", "messages", "refused"))
    people = _people(week_people)
    figures = Figures(
        channel=channel,
        now=now,
        by_hour=sorted(per_hour.items()),
        by_day=sorted(per_day.items()),
        this_hour=_period([row for row in recent if hour_of(row["hour"]) == current]),
        last_day=_period(recent),
        active=_active(days, today, with_sign_ins=channel is None),
        connected=_connected(channel),
        busiest=people["messages"],
        refused=people["refused"],
        trends=[],
    )
    if channel is None:
        sent: Counter[int] = Counter()
        for channel_id, count in hours.filter(hour__gte=current - timedelta(days=TREND_DAYS)).values_list(
            "channel_id", "messages"
        ):  # query
            sent[channel_id] += count
        members: Counter[int] = Counter(channel_id for channel_id, _, count, _ in week_people if count)
        by_messages, by_members = _top(sent), _top(members)
        names_of = Channel.objects.in_bulk({pk for pk, _ in by_messages + by_members})  # query
        figures.top_by_messages = [(names_of[pk], n) for pk, n in by_messages if pk in names_of]
        figures.top_by_members = [(names_of[pk], n) for pk, n in by_members if pk in names_of]
        figures.registrations = _registrations(now)
        trend_channels = [found for found, _ in figures.top_by_messages[:TREND_CHANNELS]]
    else:
        trend_channels = [channel]
    first_id = trends.first_message_id_since(now - timedelta(days=TREND_DAYS)) if trend_channels else None
    figures.trends = [(found, trends.channel_trends(found.pk, first_id)) for found in trend_channels]
    return figures


def _top(counts: Counter) -> list[tuple[int, int]]:
    """The TOP largest, ties by id."""
    return sorted(((key, n) for key, n in counts.items() if n > 0), key=lambda item: (-item[1], item[0]))[:TOP]


def _people(rows: list[tuple[int, int, int, int]]) -> dict[str, list[tuple[str, int]]]:
    """The busiest senders and the most refused, by user name, from (channel, user, messages, refused) rows."""
    sent: Counter[int] = Counter()
    refused: Counter[int] = Counter()
    for _, user_id, messages, refusals in rows:
        sent[user_id] += messages
        refused[user_id] += refusals
    top = {"messages": _top(sent), "refused": _top(refused)}
    wanted = {user_id for ranked in top.values() for user_id, _ in ranked}
    names = (
        dict(get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username")) if wanted else {}
    )  # query
    return {
        column: sorted(((names[pk], n) for pk, n in ranked if pk in names), key=lambda item: (-item[1], item[0]))
        for column, ranked in top.items()
    }


def _active(days, today: date, *, with_sign_ins: bool) -> dict[str, int]:
    """People active today, in the last 7 and the last 30 days (UTC): who sent a message (in the
    channel, for a channel's figures), or, community-wide, also who signed in."""
    month_start = today - timedelta(days=WINDOWS["month"] - 1)
    last_active: dict[int, date] = {}
    if with_sign_ins:
        since = datetime.combine(month_start, datetime.min.time(), tzinfo=UTC)
        sent = PersonActivity.objects.filter(last_sent_at__gte=since).values_list("user_id", "last_sent_at")
        signed = get_user_model().objects.filter(last_login__gte=since).values_list("pk", "last_login")
        for user_id, at in [*sent, *signed]:  # two queries, a row per person
            day = at.astimezone(UTC).date()
            last_active[user_id] = max(day, last_active.get(user_id, day))
    else:
        for user_id, day in days.filter(day__gte=month_start, messages__gt=0).values_list("user_id", "day"):
            last_active[user_id] = max(day, last_active.get(user_id, day))
    return {
        window: sum(1 for day in last_active.values() if day >= today - timedelta(days=length - 1))
        for window, length in WINDOWS.items()
    }


def _registrations(now: datetime) -> dict[str, int]:
    user_model = get_user_model()
    return user_model.objects.aggregate(
        week=Count("pk", filter=Q(date_joined__gte=now - timedelta(days=7))),
        month=Count("pk", filter=Q(date_joined__gte=now - timedelta(days=30))),
        pending=Count("pk", filter=Q(approval=Approval.PENDING)),
    )


def _connected(channel: Channel | None) -> int:
    """Open sockets of the community; for a channel, its members online now."""
    if channel is None:
        return metrics.open_connections()
    member_ids = list(Membership.objects.filter(channel=channel).values_list("user_id", flat=True))
    statuses = presence.presence_store().get_many(member_ids)
    return sum(1 for found in statuses.values() if found.status != presence.OFFLINE)


# Active users for /metrics (hobbies.metrics asks at every scrape; computed at most once a minute)

_active_cache: dict[str, object] = {"at": 0.0, "value": {}}
ACTIVE_CACHE_SECONDS = 60.0


def active_user_counts() -> dict[str, int]:
    """People who signed in or sent a message today, in the last 7 and the last 30 days (UTC days)."""
    return _active(ChannelUserDay.objects.all(), hour_of(timezone.now()).date(), with_sign_ins=True)


def active_users_by_window() -> dict[tuple[str, ...], float]:
    if time.monotonic() - _active_cache["at"] > ACTIVE_CACHE_SECONDS:
        counts = active_user_counts()
        _active_cache.update(at=time.monotonic(), value={("day",): counts["day"], ("month",): counts["month"]})
    return _active_cache["value"]
