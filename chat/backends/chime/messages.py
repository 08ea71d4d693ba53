"""Messages in Chime SDK messaging: send, edit, redact, delete, and reading them back.

Mixed into ChimeBackend. A message keeps our client_msg_id twice in Chime: as the send's
ClientRequestToken (a retry never makes a second Chime message) and in its Metadata, with the
ids of its attachments, so the relay can rebuild a message whose local commit failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from chat.backends.base import BackendUnavailable, OutgoingMessage, SentMessage
from chat.backends.chime.errors import call
from chat.backends.chime.records import ChimeMessage
from chat.exceptions import InvalidRequest, NotAllowed
from chat.models import ChimeParkedEvent, Message, SubChannel

MAX_METADATA_BYTES = 1024  # Chime's limit on a message's Metadata
# Chime wants at least one character; a message that is only attachments sends this.
EMPTY_CONTENT = " "


def chime_metadata(client_msg_id, attachment_ids: list[int], reply_to: str | None = None) -> str:
    """What a message carries in Chime's Metadata: our client_msg_id, its attachments' ids, and
    the Chime MessageId of the message it replies to (a key other Chime clients read too)."""
    body: dict[str, Any] = {"client_msg_id": str(client_msg_id) if client_msg_id else None}
    if attachment_ids:
        body["attachments"] = list(attachment_ids)
    if reply_to:
        body["reply_to"] = reply_to
    return json.dumps(body, separators=(",", ":"))


def replied_chime_id(message) -> str | None:
    """The Chime MessageId of the message `message` replies to; None for history from before the
    move to Chime (the original has none), a deleted original, or no reply at all."""
    if message.reply_to_id is None:
        return None
    return Message.objects.filter(pk=message.reply_to_id).values_list("chime_message_id", flat=True).first()


def attachment_ids_of(metadata: dict) -> list[int]:
    return [item["id"] for item in metadata.get("attachments") or [] if isinstance(item, dict) and "id" in item]


class MessageCalls:
    def send_message(self, outgoing: OutgoingMessage) -> SentMessage:
        original = outgoing.reply_to
        reply_to = original.chime_message_id if original is not None else None
        metadata = chime_metadata(outgoing.client_msg_id, outgoing.attachment_ids, reply_to)
        if len(metadata.encode("utf-8")) > MAX_METADATA_BYTES:
            raise InvalidRequest("Too many attachments for one message here: send them in two messages.")
        params = {
            "ChannelArn": self.channel_arn(outgoing.channel),
            "Content": outgoing.content if outgoing.content.strip() else EMPTY_CONTENT,
            "Type": "STANDARD",
            "Persistence": "PERSISTENT",
            "Metadata": metadata,
            # The same send retried (a reconnect, two tabs) is the same Chime message.
            "ClientRequestToken": str(outgoing.client_msg_id),
            "ChimeBearer": self.bearer(outgoing.sender),
        }
        if outgoing.subchannel_id is not None:
            params["SubChannelId"] = self._chime_subchannel(outgoing.subchannel_id)
        response = call(self.messaging.send_channel_message, **params)
        status = (response.get("Status") or {}).get("Value", "SENT")
        if status in {"DENIED", "FAILED"}:
            raise NotAllowed("The messaging service did not accept this message.")
        return SentMessage(ref=response["MessageId"])

    def _chime_subchannel(self, subchannel_id: int) -> str:
        chime_id = SubChannel.objects.filter(pk=subchannel_id).values_list("chime_id", flat=True).first()
        if not chime_id:
            raise BackendUnavailable("This sub-channel is not open in the messaging service yet.")
        return chime_id

    def _message_params(self, message, bearer: str) -> dict[str, Any]:
        params = {
            "ChannelArn": self.channel_arn(message.channel),
            "MessageId": message.chime_message_id,
            "ChimeBearer": bearer,
        }
        if message.subchannel_id is not None:
            chime_id = SubChannel.objects.filter(pk=message.subchannel_id).values_list("chime_id", flat=True).first()
            if chime_id:
                params["SubChannelId"] = chime_id
        return params

    def edit_message(self, message, content: str, *, actor) -> None:
        if not message.chime_message_id:
            return  # history from before the move to Chime lives here only
        call(
            self.messaging.update_channel_message,
            # Gone from Chime (its sub-channel was scaled in): our copy is the history, edited here.
            ok=("NotFoundException",),
            Content=content if content.strip() else EMPTY_CONTENT,
            # UpdateChannelMessage replaces the Metadata: a reply stays one.
            Metadata=chime_metadata(
                message.client_msg_id, attachment_ids_of(message.metadata or {}), replied_chime_id(message)
            ),
            **self._message_params(message, self.bearer(actor)),
        )

    def redact_message(self, message, *, actor) -> None:
        if not message.chime_message_id:
            return
        call(
            self.messaging.redact_channel_message,
            ok=("NotFoundException",),
            **self._message_params(message, self.bearer(actor)),
        )

    def delete_message(self, message) -> None:
        if not message.chime_message_id:
            return
        # DeleteChannelMessage is for AppInstanceAdmins only: always the app's own call.
        call(
            self.messaging.delete_channel_message,
            ok=("NotFoundException",),
            **self._message_params(message, self.admin_arn),
        )
        # A tombstone, so a late copy of the message on the event stream is not brought back; it
        # keeps our id, so a reply to it arriving later refers to it as a reply to a deleted one.
        ChimeParkedEvent.objects.create(
            message_id=message.chime_message_id, event_type="DELETE_CHANNEL_MESSAGE", payload={"pk": message.pk}
        )

    def channel_messages(self, channel_arn: str, subchannel_id: str | None = None) -> Iterator[ChimeMessage]:
        """Every message Chime holds in a channel (or sub-channel), oldest first, in its latest
        version; redacted ones empty, deleted ones absent. ListChannelMessages has no paginator."""
        token = None
        while True:
            params: dict[str, Any] = {
                "ChannelArn": channel_arn,
                "SortOrder": "ASCENDING",
                "MaxResults": 50,
                "ChimeBearer": self.admin_arn,
            }
            if subchannel_id:
                params["SubChannelId"] = subchannel_id
            if token:
                params["NextToken"] = token
            page = call(self.messaging.list_channel_messages, **params)
            for summary in page.get("ChannelMessages") or []:
                yield ChimeMessage.from_payload({"ChannelArn": channel_arn, "SubChannelId": subchannel_id, **summary})
            token = page.get("NextToken")
            if not token:
                return

    def channel_message(self, channel_arn: str, message_id: str, subchannel_id: str | None = None):
        """One message as Chime holds it now (GetChannelMessage), or None if it is gone."""
        params = {"ChannelArn": channel_arn, "MessageId": message_id, "ChimeBearer": self.admin_arn}
        if subchannel_id:
            params["SubChannelId"] = subchannel_id
        response = call(self.messaging.get_channel_message, ok=("NotFoundException",), **params)
        if not response:
            return None
        return ChimeMessage.from_payload({"ChannelArn": channel_arn, **response["ChannelMessage"]})
