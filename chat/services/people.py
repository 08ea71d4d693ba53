"""Whom a person can start a direct conversation with, for the "New message" picker: the active
people they share a channel with, or everyone active for administrators; found by user name or
display name."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from chat import policy
from chat.models import Membership

PICKER_LIMIT = 20


def message_candidates(*, actor, query: str = "", limit: int = PICKER_LIMIT) -> list:
    if not policy.can_create_channel(actor):
        return []
    people = get_user_model().objects.filter(is_active=True).exclude(pk=actor.pk)
    if not policy.is_admin(actor):
        mine = Membership.objects.filter(user=actor).values("channel_id")
        people = people.filter(Exists(Membership.objects.filter(user=OuterRef("pk"), channel_id__in=mine)))
    query = query.strip()
    if query:
        people = people.filter(Q(username__icontains=query) | Q(profile__display_name__icontains=query))
    return list(people.select_related("profile").order_by(Lower("username"))[:limit])
