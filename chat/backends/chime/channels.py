"""Channels, members, moderators and bans in Chime SDK messaging (one call per change, mostly).

Mixed into ChimeBackend (chat/backends/chime/backend.py), which provides the clients, the ARNs
and ``bearer(actor)``: the person's AppInstanceUser ARN, or the app's administrator for None.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

from django.utils import timezone

from chat.backends.base import CreatedChannel, Placements
from chat.backends.chime.errors import call
from chat.exceptions import ChannelFull, InvalidRequest, NotAllowed
from chat.models import Ban

log = logging.getLogger("chat.backends.chime")

BATCH_SIZE = 100  # BatchCreateChannelMembership takes at most 100 members
# Channel metadata marking the channels this app created (the relay skips their CREATE_CHANNEL).
APP_METADATA = json.dumps({"app": "hobbies-community"}, separators=(",", ":"))
BATCH_ERRORS = {
    "Forbidden": NotAllowed("The messaging service does not allow adding them here."),
    "ResourceLimitExceeded": ChannelFull(),
    "NotFound": InvalidRequest("That does not exist in the messaging service."),
}


class ChannelCalls:
    def create_channel(self, channel, *, creator) -> CreatedChannel:
        creator_arn = self.bearer(creator)
        params = {
            "AppInstanceArn": self.app_instance_arn,
            "Name": channel.name,
            "Mode": channel.mode.upper(),
            "Privacy": channel.privacy.upper(),
            "Metadata": APP_METADATA,
            "ClientRequestToken": uuid.uuid4().hex,
            "ChimeBearer": creator_arn,
        }
        if channel.is_elastic:
            # Chime requires elastic channels to be restricted (our form makes them so) and places
            # their members itself, so an elastic channel takes no MemberArns.
            params["ModeratorArns"] = [creator_arn]
            params["ElasticChannelConfiguration"] = {
                "MaximumSubChannels": channel.maximum_subchannels,
                "TargetMembershipsPerSubChannel": channel.target_memberships_per_subchannel,
                "MinimumMembershipPercentage": channel.minimum_membership_percentage,
            }
        elif not channel.is_direct:
            params["ModeratorArns"] = [creator_arn]
            params["MemberArns"] = [creator_arn]
        arn = call(self.messaging.create_channel, **params)["ChannelArn"]
        subchannels: tuple[str, ...] = ()
        if channel.is_elastic:
            subchannels = tuple(self._subchannels(arn))
            if subchannels:
                # The creator moderates from the first sub-channel, as with the local backend.
                call(
                    self.messaging.create_channel_membership,
                    ok=("ConflictException",),
                    ChannelArn=arn,
                    MemberArn=creator_arn,
                    Type="DEFAULT",
                    SubChannelId=subchannels[0],
                    ChimeBearer=creator_arn,
                )
        log.info("event=chime_channel_created channel_arn=%s elastic=%s", arn, channel.is_elastic)
        return CreatedChannel(ref=arn, subchannel_ids=subchannels)

    def update_channel(self, channel, *, actor) -> None:
        call(
            self.messaging.update_channel,
            ChannelArn=self.channel_arn(channel),
            Name=channel.name,
            Mode=channel.mode.upper(),
            ChimeBearer=self.bearer(actor),
        )

    def delete_channel(self, channel, *, actor) -> None:
        if not channel.chime_arn:
            return  # never moved to Chime: only our rows exist
        call(
            self.messaging.delete_channel,
            ok=("NotFoundException",),
            ChannelArn=channel.chime_arn,
            ChimeBearer=self.bearer(actor),
        )

    def subchannel_ids(self, channel) -> list[str]:
        if not channel.is_elastic or not channel.chime_arn:
            return []
        return list(self._subchannels(channel.chime_arn))

    def _subchannels(self, channel_arn: str) -> Iterator[str]:
        """ListSubChannels, every page (botocore has no paginator for it); administrators only."""
        token = None
        while True:
            params = {"ChannelArn": channel_arn, "ChimeBearer": self.admin_arn, "MaxResults": 50}
            if token:
                params["NextToken"] = token
            page = call(self.messaging.list_sub_channels, **params)
            for summary in page.get("SubChannels") or []:
                yield summary["SubChannelId"]
            token = page.get("NextToken")
            if not token:
                return

    def add_members(self, channel, users: list, *, actor) -> Placements:
        channel_arn = self.channel_arn(channel)
        bearer = self.bearer(actor)
        member_arns = {user.pk: self.bearer(user) for user in users}
        self._lift_ended_bans(channel, channel_arn, users, member_arns)
        placements: Placements = {}
        if len(users) == 1:
            [user] = users
            response = call(
                self.messaging.create_channel_membership,
                ok=("ConflictException",),  # already a member: the same outcome
                full=channel.is_elastic,
                ChannelArn=channel_arn,
                MemberArn=member_arns[user.pk],
                Type="DEFAULT",
                ChimeBearer=bearer,
            )
            placements[user.pk] = (response or {}).get("SubChannelId")
        else:
            arns = list(member_arns.values())
            for start in range(0, len(arns), BATCH_SIZE):
                response = call(
                    self.messaging.batch_create_channel_membership,
                    full=channel.is_elastic,
                    ChannelArn=channel_arn,
                    Type="DEFAULT",
                    MemberArns=arns[start : start + BATCH_SIZE],
                    ChimeBearer=bearer,
                )
                self._raise_batch_errors(response.get("Errors") or [])
        if channel.is_elastic:
            for user in users:
                if placements.get(user.pk) is None:
                    placements[user.pk] = self._placement(channel_arn, member_arns[user.pk])
        return placements

    def _raise_batch_errors(self, errors: list[dict]) -> None:
        refused = [error for error in errors if error.get("ErrorCode") != "Conflict"]
        if not refused:
            return
        log.warning("event=chime_refused operation=batch_create_channel_membership errors=%s", json.dumps(refused))
        code = refused[0].get("ErrorCode", "")
        raise BATCH_ERRORS.get(code, InvalidRequest("The messaging service refused to add some of them."))

    def _placement(self, channel_arn: str, member_arn: str) -> str | None:
        """The sub-channel Chime seated someone in (DescribeChannelMembership's SubChannelId)."""
        response = call(
            self.messaging.describe_channel_membership,
            ChannelArn=channel_arn,
            MemberArn=member_arn,
            ChimeBearer=self.admin_arn,
        )
        return (response.get("ChannelMembership") or {}).get("SubChannelId")

    def _lift_ended_bans(self, channel, channel_arn: str, users: list, member_arns: dict) -> None:
        """Chime's bans never end by themselves: one that ended here is lifted there before adding."""
        ended = Ban.objects.filter(channel=channel, user_id__in=list(member_arns), expires_at__lte=timezone.now())
        for user_id in ended.values_list("user_id", flat=True):
            call(
                self.messaging.delete_channel_ban,
                ok=("NotFoundException",),
                ChannelArn=channel_arn,
                MemberArn=member_arns[user_id],
                ChimeBearer=self.admin_arn,
            )

    def remove_member(self, channel, user, *, actor) -> None:
        call(
            self.messaging.delete_channel_membership,
            ok=("NotFoundException",),
            ChannelArn=self.channel_arn(channel),
            MemberArn=self.bearer(user),
            ChimeBearer=self.bearer(actor),
        )

    def add_moderator(self, channel, user, *, actor) -> None:
        call(
            self.messaging.create_channel_moderator,
            ok=("ConflictException",),
            ChannelArn=self.channel_arn(channel),
            ChannelModeratorArn=self.bearer(user),
            ChimeBearer=self.bearer(actor),
        )

    def remove_moderator(self, channel, user, *, actor) -> str | None:
        channel_arn = self.channel_arn(channel)
        call(
            self.messaging.delete_channel_moderator,
            ok=("NotFoundException",),
            ChannelArn=channel_arn,
            ChannelModeratorArn=self.bearer(user),
            ChimeBearer=self.bearer(actor),
        )
        return self._placement(channel_arn, self.bearer(user)) if channel.is_elastic else None

    def seat_moderator(self, channel, subchannel, *, actor) -> None:
        if not subchannel.chime_id:
            raise InvalidRequest("That sub-channel is not open in the messaging service yet.")
        arn = self.bearer(actor)
        call(
            self.messaging.create_channel_membership,
            ok=("ConflictException",),
            ChannelArn=self.channel_arn(channel),
            MemberArn=arn,
            Type="DEFAULT",
            SubChannelId=subchannel.chime_id,
            ChimeBearer=arn,
        )

    def ban(self, channel, user, *, actor) -> None:
        call(
            self.messaging.create_channel_ban,
            ok=("ConflictException",),  # an ended ban here is still one in Chime: the new one holds
            ChannelArn=self.channel_arn(channel),
            MemberArn=self.bearer(user),
            ChimeBearer=self.bearer(actor),
        )

    def unban(self, channel, user, *, actor) -> None:
        call(
            self.messaging.delete_channel_ban,
            ok=("NotFoundException",),
            ChannelArn=self.channel_arn(channel),
            MemberArn=self.bearer(user),
            ChimeBearer=self.bearer(actor),
        )
