"""Chat data: channels, sub-channels, memberships, bans, messages and reports.

Data only: rules live in chat/policy.py, writes in chat/services/. Reusable reads are QuerySet
methods here (``Channel.objects.visible_to(user)``).

Elastic channels (see docs/channels.md):
- a *member* holds exactly one seat: ``Membership.subchannel``, counted in ``SubChannel.member_count``
  so placement never counts rows;
- a *moderator* has ``Membership.subchannel = None`` and sits in any number of sub-channels
  through ``ModeratorSeat`` rows; moderator seats do not use capacity and balancing never moves them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

MAX_CHANNEL_NAME_LENGTH = 80
MAX_ELASTIC_CAPACITY = 1_000_000
ELASTIC_FIELDS = ("maximum_subchannels", "target_memberships_per_subchannel", "minimum_membership_percentage")


class Privacy(models.TextChoices):
    PRIVATE = "private", "Private (only members can read and send messages)"
    PUBLIC = "public", "Public (non-members can read and send messages)"


class Mode(models.TextChoices):
    RESTRICTED = "restricted", "Restricted (administrators and moderators can add members)"
    UNRESTRICTED = "unrestricted", "Unrestricted (any member can add other members)"


class ChannelType(models.TextChoices):
    STANDARD = "standard", "Standard (only one channel will be created with standard limit)"
    ELASTIC = "elastic", "Elastic (automatically creates new channels as old ones reaches threshold)"


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    MODERATOR = "moderator", "Moderator"


class ChannelQuerySet(models.QuerySet):
    def visible_to(self, user) -> ChannelQuerySet:
        """Channels whose existence `user` may know of: public ones, their own, all of them for administrators
        (the role on the user model: hobbies.accounts, kept by hobbies.accounts.policy.is_administrator)."""
        if user.is_authenticated and user.is_community_administrator:
            return self.all()
        return self.filter(
            Q(privacy=Privacy.PUBLIC) | Exists(Membership.objects.filter(channel=OuterRef("pk"), user=user))
        )

    def joined_by(self, user) -> ChannelQuerySet:
        return self.filter(Exists(Membership.objects.filter(channel=OuterRef("pk"), user=user)))

    def moderated_by(self, user) -> ChannelQuerySet:
        return self.filter(Exists(Membership.objects.filter(channel=OuterRef("pk"), user=user, role=Role.MODERATOR)))

    def joinable_by(self, user) -> ChannelQuerySet:
        """Public channels `user` is neither a member of nor banned from."""
        return (
            self.filter(privacy=Privacy.PUBLIC, is_direct=False)
            .exclude(Exists(Membership.objects.filter(channel=OuterRef("pk"), user=user)))
            .exclude(Exists(Ban.objects.active().filter(channel=OuterRef("pk"), user=user)))
        )

    def direct(self) -> ChannelQuerySet:
        return self.filter(is_direct=True)

    def group(self) -> ChannelQuerySet:
        return self.filter(is_direct=False)


class Channel(models.Model):
    name = models.CharField(max_length=MAX_CHANNEL_NAME_LENGTH)
    privacy = models.CharField(max_length=16, choices=Privacy.choices)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.RESTRICTED)
    channel_type = models.CharField(max_length=16, choices=ChannelType.choices, default=ChannelType.STANDARD)
    # Elastic configuration, fixed at creation; NULL on standard channels.
    maximum_subchannels = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(2)])
    target_memberships_per_subchannel = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(1000)]
    )
    minimum_membership_percentage = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(40)]
    )
    is_direct = models.BooleanField(default=False)
    # "<smaller user id>:<larger user id>" for direct messages, so a pair has one channel at most.
    direct_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="channels_created"
    )
    # Moderators may ask members to wait this long between messages (0: off).
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # MESSAGING_BACKEND=chime: the channel in Chime SDK messaging (chat/backends/chime/).
    chime_arn = models.CharField(max_length=1600, null=True, blank=True, unique=True, editable=False)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(privacy__in=Privacy.values), name="chat_channel_privacy_valid"),
            models.CheckConstraint(condition=Q(mode__in=Mode.values), name="chat_channel_mode_valid"),
            models.CheckConstraint(condition=Q(channel_type__in=ChannelType.values), name="chat_channel_type_valid"),
            # Mode is only offered for private standard channels; every other channel is restricted.
            models.CheckConstraint(
                condition=Q(mode=Mode.RESTRICTED)
                | Q(privacy=Privacy.PRIVATE, channel_type=ChannelType.STANDARD, is_direct=False),
                name="chat_channel_unrestricted_only_private_standard",
            ),
            models.CheckConstraint(
                condition=Q(
                    channel_type=ChannelType.STANDARD,
                    maximum_subchannels__isnull=True,
                    target_memberships_per_subchannel__isnull=True,
                    minimum_membership_percentage__isnull=True,
                )
                | Q(
                    # SQL passes a check that compares NULL, so NULLs are refused explicitly.
                    channel_type=ChannelType.ELASTIC,
                    maximum_subchannels__isnull=False,
                    target_memberships_per_subchannel__isnull=False,
                    minimum_membership_percentage__isnull=False,
                    maximum_subchannels__gte=2,
                    target_memberships_per_subchannel__gte=2,
                    target_memberships_per_subchannel__lte=1000,
                    minimum_membership_percentage__gte=1,
                    minimum_membership_percentage__lte=40,
                ),
                name="chat_channel_elastic_config_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel_type=ChannelType.STANDARD)
                | LessThanOrEqual(
                    models.F("maximum_subchannels") * models.F("target_memberships_per_subchannel"),
                    MAX_ELASTIC_CAPACITY,
                ),
                name="chat_channel_elastic_capacity_limit",
            ),
            models.CheckConstraint(
                condition=Q(is_direct=False) | Q(privacy=Privacy.PRIVATE, channel_type=ChannelType.STANDARD),
                name="chat_channel_direct_is_private_standard",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Clear messages for the rules the check constraints above enforce in the database."""
        errors: dict[str, str] = {}
        self.name = (self.name or "").strip()
        if not self.name:
            errors["name"] = "Enter a channel name."
        if self.is_elastic:
            for field in ELASTIC_FIELDS:
                if getattr(self, field) is None:
                    errors[field] = "Required for elastic channels."
            if not errors and self.capacity > MAX_ELASTIC_CAPACITY:
                errors["maximum_subchannels"] = (
                    f"Capacity (maximum sub-channels × target memberships per sub-channel) would be "
                    f"{self.capacity:,}; it cannot exceed {MAX_ELASTIC_CAPACITY:,}."
                )
        elif any(getattr(self, field) is not None for field in ELASTIC_FIELDS):
            errors["channel_type"] = "Sub-channel settings apply to elastic channels only."
        if self.mode == Mode.UNRESTRICTED and not self.offers_mode:
            errors["mode"] = "Only private standard channels can be unrestricted."
        if errors:
            raise ValidationError(errors)

    @property
    def offers_mode(self) -> bool:
        """Mode is a choice on private standard channels only; every other channel is restricted."""
        return self.is_private and not self.is_elastic and not self.is_direct

    @property
    def is_private(self) -> bool:
        return self.privacy == Privacy.PRIVATE

    @property
    def is_public(self) -> bool:
        return self.privacy == Privacy.PUBLIC

    @property
    def is_elastic(self) -> bool:
        return self.channel_type == ChannelType.ELASTIC

    @property
    def capacity(self) -> int | None:
        """Member seats of an elastic channel; None means the standard (unbounded here) limit."""
        if not self.is_elastic:
            return None
        return self.maximum_subchannels * self.target_memberships_per_subchannel

    @property
    def scale_in_threshold(self) -> float | None:
        """A sub-channel with fewer members than this is merged into one with room."""
        if not self.is_elastic:
            return None
        return self.target_memberships_per_subchannel * self.minimum_membership_percentage / 100


class SubChannel(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="subchannels")
    number = models.PositiveIntegerField()
    # Seats taken by members (moderators excluded); kept by the services so placement reads one row.
    member_count = models.PositiveIntegerField(default=0)
    # A merged sub-channel is closed rather than deleted: moderator seats and links to it stay
    # valid, and scale-out reopens it before creating a new one.
    is_open = models.BooleanField(default=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # MESSAGING_BACKEND=chime: Chime's SubChannelId (Chime places the members of elastic channels).
    chime_id = models.CharField(max_length=128, null=True, blank=True, editable=False)

    class Meta:
        ordering = ["channel_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "number"], name="chat_subchannel_number_unique"),
            models.UniqueConstraint(fields=["channel", "chime_id"], name="chat_subchannel_chime_id_unique"),
            models.CheckConstraint(condition=Q(is_open=True) | Q(member_count=0), name="chat_subchannel_closed_empty"),
        ]
        indexes = [models.Index(fields=["channel", "is_open", "member_count"], name="chat_subchannel_room_idx")]

    def __str__(self) -> str:
        return f"{self.channel.name} #{self.number}"


class MembershipQuerySet(models.QuerySet):
    def moderators(self) -> MembershipQuerySet:
        return self.filter(role=Role.MODERATOR)

    def members_only(self) -> MembershipQuerySet:
        return self.filter(role=Role.MEMBER)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_memberships")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="memberships")
    # A member's one seat in an elastic channel; NULL on standard channels and for moderators.
    subchannel = models.ForeignKey(
        SubChannel, null=True, blank=True, on_delete=models.RESTRICT, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="chat_membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="chat_membership_role_valid"),
            models.CheckConstraint(
                condition=Q(role=Role.MEMBER) | Q(subchannel__isnull=True), name="chat_membership_moderator_unseated"
            ),
        ]
        indexes = [models.Index(fields=["channel", "role"], name="chat_membership_role_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.channel} ({self.role})"

    @property
    def is_moderator(self) -> bool:
        return self.role == Role.MODERATOR


class ModeratorSeat(models.Model):
    """A moderator of an elastic channel sitting in one of its sub-channels (they may sit in several)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="moderator_seats")
    subchannel = models.ForeignKey(SubChannel, on_delete=models.CASCADE, related_name="moderator_seats")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "subchannel"], name="chat_moderator_seat_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.membership.user} moderates {self.subchannel}"


class BanQuerySet(models.QuerySet):
    def active(self) -> BanQuerySet:
        """Bans that hold now: without an end, or ending later. An expired row is replaced by the next ban."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))


class Ban(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_bans")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="bans")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=500, blank=True)
    # The ban lifts itself at this moment; NULL: until a moderator lifts it.
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = BanQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="chat_ban_unique")]

    def __str__(self) -> str:
        return f"{self.user} banned from {self.channel}"

    @property
    def is_active(self) -> bool:
        return self.expires_at is None or self.expires_at > timezone.now()


class MessageQuerySet(models.QuerySet):
    def with_author(self) -> MessageQuerySet:
        return self.select_related("author")

    def unread_by(self, user) -> MessageQuerySet:
        """Messages that count as unread for `user`: others' and still there."""
        return self.filter(redacted_at__isnull=True).exclude(author=user)


class Message(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="messages")
    # The sub-channel of an elastic channel the message belongs to; moved along on scale-in.
    subchannel = models.ForeignKey(
        SubChannel, null=True, blank=True, on_delete=models.RESTRICT, related_name="messages"
    )
    # The stream it was published in and its place there (chat/streams.py); set by the services.
    stream = models.ForeignKey("Stream", null=True, blank=True, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="chat_messages"
    )
    # The sender's id for this send, so a retry returns the stored message instead of a copy.
    client_msg_id = models.UUIDField(null=True, blank=True)
    content = models.TextField()
    # Rendered once at send or edit time (chat/rendering.py), never per viewer.
    html = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # A redacted message keeps its row and place; its content, revisions and attachments are gone.
    redacted_at = models.DateTimeField(null=True, blank=True)
    # MESSAGING_BACKEND=chime: Chime's MessageId, and the newest Chime change applied to this row.
    chime_message_id = models.CharField(max_length=128, null=True, blank=True, unique=True, editable=False)
    chime_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The message this one replies to (issue 17). No database constraint: the reference outlives a
    # hard-deleted original, which is then shown as "(original deleted)".
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="replies"
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_msg_id"],
                condition=Q(client_msg_id__isnull=False),
                name="chat_message_client_msg_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["stream", "seq"], name="chat_message_stream_seq_idx")]

    def __str__(self) -> str:
        return f"{self.author} in {self.channel}: {self.content[:40]}"


class Reaction(models.Model):
    """One person's emoji on a message (issue 17; chat/services/reactions.py)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_reactions")
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="chat_reaction_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.emoji} on {self.message_id}"


# --- Attachments (issue 5; rules in chat/services/attachments.py, storage in chat/attachments/) ---


class AttachmentState(models.TextChoices):
    PENDING = "pending", "Pending upload"
    UPLOADED = "uploaded", "Uploaded (checked, not yet attached)"
    ATTACHED = "attached", "Attached to a message"
    HIDDEN = "hidden", "Hidden (its message was redacted)"


class Attachment(models.Model):
    """One uploaded file: a record from the moment an upload is started, attached to a message at send."""

    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="chat_attachments"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="attachments")
    # attachments/<channel id>/<uuid>/<safe name>: unique by construction, never reused.
    key = models.CharField(max_length=512, unique=True)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=127)
    state = models.CharField(max_length=16, choices=AttachmentState.choices, default=AttachmentState.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the message is sent; SET_NULL so a row outliving its message is found by cleanup.
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    thumbnail_key = models.CharField(max_length=512, blank=True, default="")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=AttachmentState.values), name="chat_attachment_state_valid"),
        ]
        indexes = [
            models.Index(fields=["uploader", "created_at"], name="chat_attachment_quota_idx"),
            models.Index(fields=["state", "created_at"], name="chat_attachment_cleanup_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


# --- Real-time messaging: streams, their events, revisions and read markers ---


class Stream(models.Model):
    """What a member receives events from: a standard channel, or one sub-channel of an elastic one.

    ``last_seq`` is the stream's event counter: taken under a row lock in the transaction that
    makes the change, so seq grows by exactly one per event, without gaps or repeats.
    """

    key = models.CharField(max_length=40, primary_key=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="streams")
    subchannel = models.OneToOneField(
        SubChannel, null=True, blank=True, on_delete=models.CASCADE, related_name="stream"
    )
    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.key


class StreamEvent(models.Model):
    """One sequenced event, kept so a reconnecting client can be replayed what it missed."""

    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=32)
    # The frame as sent live, less `type`, `stream` and `seq`.
    body = models.JSONField(default=dict)
    # Set for message events, so a redaction or deletion can scrub what replay would send.
    message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="chat_streamevent_seq_unique")]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.seq} {self.type}"


class MessageRevision(models.Model):
    """An earlier text of an edited message (the current one stays on the message)."""

    message = models.ForeignKey("Message", on_delete=models.CASCADE, related_name="revisions")
    content = models.TextField()
    html = models.TextField()
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message_id", "replaced_at"]

    def __str__(self) -> str:
        return f"revision of {self.message_id} replaced {self.replaced_at:%Y-%m-%d %H:%M}"


class ReadMarker(models.Model):
    """How far a user has read a stream: messages with a higher seq are unread."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="read_markers")
    stream = models.ForeignKey(Stream, on_delete=models.CASCADE, related_name="read_markers")
    last_read_seq = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "stream"], name="chat_readmarker_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.stream_id} to {self.last_read_seq}"


# --- Reports: a message reported to the channel's moderators (rules in chat/policy.py) ---


class ReportReason(models.TextChoices):
    SPAM = "spam", "Spam or advertising"
    HARASSMENT = "harassment", "Harassment or bullying"
    HATE = "hate", "Hateful or violent content"
    EXPLICIT = "explicit", "Sexual or explicit content"
    OTHER = "other", "Something else"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    RESOLVED = "resolved", "Resolved"


class ReportQuerySet(models.QuerySet):
    def open(self) -> ReportQuerySet:
        return self.filter(status=ReportStatus.OPEN)

    def not_about(self, user) -> ReportQuerySet:
        """A report is never shown to the person it is about."""
        return self.exclude(reported_user=user)


class Report(models.Model):
    """Someone's report of a message, queued for the channel's moderators and the administrators."""

    # SET_NULL: an administrator's hard delete keeps the report (and what was done about it).
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="reports")
    # The message's author when it was reported: the one person who never sees the report.
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="reports_about"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="reports_made"
    )
    reason = models.CharField(max_length=16, choices=ReportReason.choices)
    details = models.TextField(blank=True, max_length=1000)
    status = models.CharField(max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    # What was done, by whom and when: "dismissed", "redacted", "banned", "deactivated".
    outcome = models.CharField(max_length=32, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(reason__in=ReportReason.values), name="chat_report_reason_valid"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values), name="chat_report_status_valid"),
            # One report per person and message.
            models.UniqueConstraint(fields=["message", "reporter"], name="chat_report_once_per_reporter"),
        ]
        indexes = [models.Index(fields=["channel", "status", "created_at"], name="chat_report_queue_idx")]

    def __str__(self) -> str:
        return f"Report {self.pk}: {self.get_reason_display()} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == ReportStatus.OPEN


# --- Chime SDK messaging (MESSAGING_BACKEND=chime; docs/chime.md) ---


class ChimeShardCheckpoint(models.Model):
    """How far the relay has applied one shard of the Chime event stream (Kinesis).

    Written in the transaction that applies the record, so a restarted relay resumes
    AFTER_SEQUENCE_NUMBER with nothing applied twice and nothing skipped.
    """

    stream_arn = models.CharField(max_length=2048)
    shard_id = models.CharField(max_length=128)
    sequence_number = models.CharField(max_length=128, blank=True)
    # The shard was closed by a reshard and read to its end: its children may be read.
    finished = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream_arn", "shard_id"], name="chat_chimecheckpoint_shard_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.shard_id} at {self.sequence_number or 'start'}"


class ChimeParkedEvent(models.Model):
    """A Chime message event that arrived before its message (records are ordered per shard only),
    kept until the message arrives; a deletion stays as a tombstone so a late create is not revived."""

    message_id = models.CharField(max_length=128, db_index=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    event_time = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message_id", "event_time", "pk"]

    def __str__(self) -> str:
        return f"{self.event_type} for {self.message_id}"


# The dashboards' rollup (chat/services/activity.py writes it, chat/services/dashboards.py reads it):
# small tables kept by the services as messages are sent, refused and delivered, and rebuilt from
# the messages by `manage.py rebuild_rollup`, so that no page counts the messages themselves.


class ChannelHour(models.Model):
    """One channel's activity in one hour (UTC): messages stored, distinct senders, sends refused,
    and the delivery latency of its events (counts per bucket of hobbies.metrics.names.LATENCY_BOUNDS,
    then one for anything slower, then the sum and the largest value in seconds)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    messages = models.PositiveIntegerField(default=0)
    senders = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    deliveries = models.PositiveBigIntegerField(default=0)
    latency = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "hour"], name="chat_channelhour_unique")]
        indexes = [models.Index(fields=["hour"], name="chat_channelhour_hour_idx")]

    def __str__(self) -> str:
        return f"{self.channel_id} at {self.hour:%Y-%m-%d %H}:00: {self.messages} messages"


class PersonActivity(models.Model):
    """When each person last sent a message, in any channel: with their last sign-in
    (``User.last_login``), who counts as active on the dashboards and in hobbies_active_users."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    last_sent_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = "person activities"

    def __str__(self) -> str:
        return f"{self.user_id} last sent at {self.last_sent_at:%Y-%m-%d %H:%M}"


class ChannelUserDay(models.Model):
    """One person's day (UTC) in one channel: messages sent, sends refused, and the last send (which
    tells whether a send is their first in its hour)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    messages = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "user", "day"], name="chat_channeluserday_unique"),
        ]
        indexes = [
            models.Index(fields=["day"], name="chat_channeluserday_day_idx"),
            models.Index(fields=["channel", "day"], name="chat_channeluserday_chan_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.channel_id} on {self.day}: {self.messages} sent, {self.refused} refused"
