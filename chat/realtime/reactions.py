"""The reaction frames (`reaction.add`, `reaction.remove`, `reaction.clear`): thin calls into
chat/services/reactions.py, each taking the ChatConsumer and the frame. Everyone in the stream,
this tab included, gets the sequenced `reaction.*` event; a refusal is answered with `error`."""

from __future__ import annotations

from channels.db import database_sync_to_async

from chat.realtime.frames import field, positive_id
from chat.services import reactions as reaction_service


async def on_reaction_add(consumer, frame: dict) -> None:
    await database_sync_to_async(reaction_service.add_reaction)(
        actor=consumer.user, message_id=positive_id(frame, "message"), emoji=field(frame, "emoji", str)
    )


async def on_reaction_remove(consumer, frame: dict) -> None:
    await database_sync_to_async(reaction_service.remove_reaction)(
        actor=consumer.user, message_id=positive_id(frame, "message"), emoji=field(frame, "emoji", str)
    )


async def on_reaction_clear(consumer, frame: dict) -> None:
    await database_sync_to_async(reaction_service.clear_reactions)(
        actor=consumer.user, message_id=positive_id(frame, "message")
    )


HANDLERS = {
    "reaction.add": on_reaction_add,
    "reaction.remove": on_reaction_remove,
    "reaction.clear": on_reaction_clear,
}
