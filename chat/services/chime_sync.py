"""Bringing our database and Chime together outside the event stream (MESSAGING_BACKEND=chime).

``reconcile_channel``: after an outage longer than the stream's retention, a channel's messages
are read back from Chime (ListChannelMessages, every page) and applied like stream records
(chat/services/mirror.py), so what was missed appears, in its latest version, once.

``provision_users`` / ``provision_channel``: switching a running community to Chime creates the
AppInstanceUsers of existing people and the existing channels with their members, moderators and
bans in Chime, storing the ARNs. History stays ours (Chime starts with new messages).
No policy check in either: an operator runs them (`manage.py chime_sync`).
"""

from __future__ import annotations

import logging
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import transaction

from chat.backends import get_backend
from chat.exceptions import ChatError
from chat.models import Ban, Channel, Membership, Message, Role
from chat.services import mirror
from chat.services.mirror_channels import mirror_membership_updated

log = logging.getLogger("chat.services.chime_sync")


def _chime():
    backend = get_backend()
    if backend.name != "chime":
        raise ChatError("Set MESSAGING_BACKEND=chime (and the CHIME_* settings) first.")
    return backend


def reconcile_channel(channel: Channel) -> Counter:
    """Apply every message Chime holds in `channel`; on a standard channel, messages Chime no
    longer holds are deleted here too (an elastic channel keeps the history Chime scaled in)."""
    backend = _chime()
    if not channel.chime_arn:
        raise ChatError(f"Channel {channel.pk} is not in Chime yet: run chime_sync --provision first.")
    counts: Counter = Counter()
    seen: set[str] = set()
    sources = list(channel.subchannels.exclude(chime_id=None).values_list("chime_id", flat=True))
    for subchannel_id in sources if channel.is_elastic else [None]:
        for listed in backend.channel_messages(channel.chime_arn, subchannel_id):
            seen.add(listed.message_id)
            with transaction.atomic():
                counts[mirror.mirror_message(listed)] += 1
    if not channel.is_elastic:
        ours = Message.objects.filter(channel=channel, chime_message_id__isnull=False)
        for message_id in ours.values_list("chime_message_id", flat=True).iterator():
            if message_id not in seen:
                with transaction.atomic():
                    payload = {"ChannelArn": channel.chime_arn, "MessageId": message_id}
                    counts[mirror.mirror_message_deleted(payload)] += 1
    log.info("event=chime_reconciled channel=%s %s", channel.pk, " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def provision_users() -> int:
    """Create the AppInstanceUser of every active person who has none yet (idempotent)."""
    backend = _chime()
    people = get_user_model().objects.filter(is_active=True).exclude(profile__chime_arn__isnull=False)
    created = 0
    for user in people.order_by("pk").iterator():
        backend.ensure_user(user)
        created += 1
    return created


def provision_channel(channel: Channel) -> bool:
    """Create an existing channel in Chime with its people; False if it is there already."""
    backend = _chime()
    if channel.chime_arn:
        return False
    memberships = list(Membership.objects.filter(channel=channel).select_related("user").order_by("pk"))
    moderators = [m.user for m in memberships if m.role == Role.MODERATOR]
    # Its first moderator creates it in Chime; without one (a direct conversation), the app does.
    creator = next(iter(moderators), None)
    created = backend.create_channel(channel, creator=creator)
    channel.chime_arn = created.ref
    Channel.objects.filter(pk=channel.pk).update(chime_arn=created.ref)
    # CreateChannel made the creator a moderator (and a member of a standard channel).
    others = [m.user for m in memberships if m.user != creator or channel.is_elastic or channel.is_direct]
    placements = backend.add_members(channel, others, actor=None) if others else {}
    for user in moderators:
        if user != creator:
            backend.add_moderator(channel, user, actor=None)
    for ban in Ban.objects.filter(channel=channel).select_related("user"):
        if ban.is_active:
            backend.ban(channel, ban.user, actor=None)
    if channel.is_elastic:
        # Chime placed the members: our seats follow its sub-channels.
        for user_id, subchannel_id in placements.items():
            arn = get_user_model().objects.get(pk=user_id).profile.chime_arn
            with transaction.atomic():
                mirror_membership_updated(
                    {"ChannelArn": channel.chime_arn, "Member": {"Arn": arn}, "SubChannelId": subchannel_id}
                )
    log.info("event=chime_provisioned channel=%s channel_arn=%s members=%d", channel.pk, channel.chime_arn, len(others))
    return True
