"""The dashboards' rollup beyond what the send path records (activity.py): delivery latency from
the server processes, and the rebuild from the messages (``manage.py rebuild_rollup``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from chat.models import Channel, ChannelHour, ChannelUserDay, Message, PersonActivity
from chat.services.activity import hour_of, upsert
from hobbies.metrics import latency, names


def add_deliveries(batch: dict[tuple[int, datetime], list[float]]) -> None:
    """Add delivery latency buckets (hobbies.metrics.latency, LATENCY_BOUNDS) per (channel id, hour)."""
    known = set(Channel.objects.filter(pk__in={channel for channel, _ in batch}).values_list("pk", flat=True))
    batch = {key: buckets for key, buckets in batch.items() if key[0] in known}
    if not batch:
        return
    with transaction.atomic():
        for (channel, hour), buckets in batch.items():
            upsert(ChannelHour, {"channel_id": channel, "hour": hour}, {"deliveries": latency.count(buckets)})
        matching = Q()
        for channel, hour in batch:
            matching |= Q(channel_id=channel, hour=hour)
        rows = list(ChannelHour.objects.select_for_update().filter(matching))
        for row in rows:
            row.latency = latency.merge(
                row.latency or latency.empty(names.LATENCY_BOUNDS), batch[(row.channel_id, row.hour)]
            )
        ChannelHour.objects.bulk_update(rows, ["latency"])


def rebuild(*, days: int | None = None) -> dict[str, int]:
    """Recompute messages and senders per channel and hour, and messages per person and day, from the
    messages (all of them, or the last `days` days); refusals and latency are kept as they are."""
    since = hour_of(timezone.now() - timedelta(days=days)).replace(hour=0) if days else None
    messages = Message.objects.filter(created_at__gte=since) if since else Message.objects.all()
    per_hour = (
        messages.annotate(at_hour=TruncHour("created_at", tzinfo=UTC))
        .values("channel_id", "at_hour")
        .annotate(count=Count("id"), distinct_senders=Count("author_id", distinct=True))
        .order_by()
    )
    per_day = (
        messages.filter(author__isnull=False)
        .annotate(on_day=TruncDate("created_at", tzinfo=UTC))
        .values("channel_id", "author_id", "on_day")
        .annotate(count=Count("id"), last=Max("created_at"))
        .order_by()
    )
    hours = ChannelHour.objects.filter(hour__gte=since) if since else ChannelHour.objects.all()
    user_days = ChannelUserDay.objects.filter(day__gte=since.date()) if since else ChannelUserDay.objects.all()
    with transaction.atomic():
        hours.update(messages=0, senders=0)
        user_days.update(messages=0, last_sent_at=None)
        hour_rows = [
            ChannelHour(
                channel_id=row["channel_id"],
                hour=row["at_hour"],
                messages=row["count"],
                senders=row["distinct_senders"],
            )
            for row in per_hour.iterator()
        ]
        ChannelHour.objects.bulk_create(
            hour_rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["channel", "hour"],
            update_fields=["messages", "senders"],
        )
        day_rows = [
            ChannelUserDay(
                channel_id=row["channel_id"],
                user_id=row["author_id"],
                day=row["on_day"],
                messages=row["count"],
                last_sent_at=row["last"],
            )
            for row in per_day.iterator()
        ]
        ChannelUserDay.objects.bulk_create(
            day_rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["channel", "user", "day"],
            update_fields=["messages", "last_sent_at"],
        )
        last_sent = (
            messages.filter(author__isnull=False).values("author_id").annotate(last=Max("created_at")).order_by()
        )
        PersonActivity.objects.bulk_create(
            [PersonActivity(user_id=row["author_id"], last_sent_at=row["last"]) for row in last_sent.iterator()],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["last_sent_at"],
        )
        hours.filter(messages=0, errors=0, deliveries=0).delete()
        user_days.filter(messages=0, refused=0).delete()
    return {"hours": len(hour_rows), "user_days": len(day_rows)}
