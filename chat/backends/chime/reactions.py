"""Reactions in Chime SDK messaging (issue 17; docs/chime.md, "Replies and reactions").

Chime has no reaction API, so each change is a message of its own: STANDARD and PERSISTENT (a
CONTROL message holds 30 bytes and no metadata, and is not kept), with the emoji as its Content
and ``{"kind": "reaction", "op", "target", "client_msg_id"}`` as its Metadata, sent as the person
(their bearer); a moderator's clearing is sent by the app with Content "-". Mixed into ChimeBackend.

The relay applies such messages as reactions, never as messages (chat/services/mirror_reactions.py).
Each one sent from here leaves a marker keyed by its MessageId, written in the service's
transaction, so its copy coming back on the event stream is a no-op, like our own messages.
"""

from __future__ import annotations

import json
import uuid

from chat.backends.chime.errors import call
from chat.exceptions import NotAllowed
from chat.models import ChimeParkedEvent, SubChannel

REACTION_KIND = "reaction"
OPS = frozenset({"add", "remove", "clear"})
# Chime wants at least one character: a clearing carries this.
CLEAR_CONTENT = "-"
# ChimeParkedEvent.event_type of the marker "this reaction message is applied here already"
# (keyed by the reaction message's own MessageId): sent from here, or applied by the relay.
REACTION_SEEN = "REACTION_MESSAGE"


def reaction_metadata(op: str, target: str, client_msg_id) -> str:
    body = {"kind": REACTION_KIND, "op": op, "target": target, "client_msg_id": str(client_msg_id)}
    return json.dumps(body, separators=(",", ":"))


class ReactionCalls:
    def add_reaction(self, message, emoji: str, *, actor) -> None:
        self._send_reaction(message, "add", emoji, self.bearer(actor))

    def remove_reaction(self, message, emoji: str, *, actor) -> None:
        self._send_reaction(message, "remove", emoji, self.bearer(actor))

    def clear_reactions(self, message) -> None:
        # On the moderator's behalf, as the app (AppInstanceAdmin), whatever their role in Chime.
        self._send_reaction(message, "clear", CLEAR_CONTENT, self.admin_arn)

    def _send_reaction(self, message, op: str, content: str, bearer: str) -> None:
        if not message.chime_message_id:
            return  # history from before the move to Chime: its reactions live here only
        # A fresh token each time: adding, removing and adding again are three Chime messages.
        token = uuid.uuid4()
        params = {
            "ChannelArn": self.channel_arn(message.channel),
            "Content": content,
            "Type": "STANDARD",
            "Persistence": "PERSISTENT",
            "Metadata": reaction_metadata(op, message.chime_message_id, token),
            "ClientRequestToken": str(token),
            "ChimeBearer": bearer,
        }
        if message.subchannel_id is not None:
            chime_id = SubChannel.objects.filter(pk=message.subchannel_id).values_list("chime_id", flat=True).first()
            if chime_id:
                params["SubChannelId"] = chime_id
        response = call(self.messaging.send_channel_message, **params)
        status = (response.get("Status") or {}).get("Value", "SENT")
        if status in {"DENIED", "FAILED"}:
            raise NotAllowed("The messaging service did not accept this reaction.")
        # In the service's transaction: its echo on the event stream changes nothing.
        ChimeParkedEvent.objects.create(message_id=response["MessageId"], event_type=REACTION_SEEN)
