"""The Chime backend: every change the services make, carried out in Chime SDK messaging.

Calls on a person's behalf carry their AppInstanceUser ARN as ChimeBearer (created lazily before
their first call, if the sign-in hook has not made it yet); administrative calls (deleting a
message, listing sub-channels, the changes policy allows an administrator without a role in the
channel) carry CHIME_ADMIN_USER_ARN, the app's own AppInstanceUser made an AppInstanceAdmin.
"""

from __future__ import annotations

from django.conf import settings

from chat.backends.base import BackendUnavailable, MessagingBackend
from chat.backends.chime import client, identity
from chat.backends.chime.channels import ChannelCalls
from chat.backends.chime.messages import MessageCalls
from chat.backends.chime.reactions import ReactionCalls


class ChimeBackend(ChannelCalls, MessageCalls, ReactionCalls, MessagingBackend):
    name = "chime"
    places_members = True

    def __init__(self, *, app_instance_arn: str, admin_arn: str, messaging=None, identity_client=None) -> None:
        self.app_instance_arn = app_instance_arn
        self.admin_arn = admin_arn
        # Tests hand in stubbed clients; otherwise the process's shared ones (chime/client.py).
        self._messaging = messaging
        self._identity = identity_client

    @classmethod
    def from_settings(cls) -> ChimeBackend:
        return cls(app_instance_arn=settings.CHIME_APP_INSTANCE_ARN, admin_arn=settings.CHIME_ADMIN_USER_ARN)

    @property
    def messaging(self):
        return self._messaging or client.messaging()

    @property
    def identity(self):
        return self._identity or client.identity()

    def ensure_user(self, user) -> str:
        return identity.ensure_user(self.identity, self.app_instance_arn, user)

    def bearer(self, actor) -> str:
        """The ChimeBearer of a call on `actor`'s behalf; None: the app's administrator."""
        return self.admin_arn if actor is None else self.ensure_user(actor)

    def channel_arn(self, channel) -> str:
        if not channel.chime_arn:
            raise BackendUnavailable(
                "This channel is not in the messaging service yet: "
                "an operator moves it there (manage.py chime_sync --provision)."
            )
        return channel.chime_arn

    def user_for_arn(self, arn: str | None):
        return identity.user_for_arn(self.app_instance_arn, arn)
