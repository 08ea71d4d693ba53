import uuid

import pytest

from chat.exceptions import ChannelNotFound, InvalidRequest, NotAllowed
from chat.models import Reaction, StreamEvent
from chat.services import messages as message_service
from chat.services import reactions as service
from chat.services.memberships import ban_user
from chat.services.payloads import message_payload


def send(user, channel, content="hello"):
    return message_service.send_message(
        actor=user, channel_id=channel.pk, content=content, client_msg_id=uuid.uuid4()
    ).message


def stored_types(channel):
    return list(StreamEvent.objects.filter(stream_id=str(channel.pk)).order_by("seq").values_list("type", flat=True))


@pytest.mark.django_db
def test_adding_and_removing_are_sequenced_events_carrying_the_counts(room):
    channel, mod, ann = room
    message = send(mod, channel)
    service.add_reaction(actor=ann, message_id=message.pk, emoji="👍")
    summary = service.add_reaction(actor=mod, message_id=message.pk, emoji="👍")
    assert summary == [{"emoji": "👍", "count": 2, "users": ["ann", "mod"]}]
    assert service.remove_reaction(actor=ann, message_id=message.pk, emoji="👍") == [
        {"emoji": "👍", "count": 1, "users": ["mod"]}
    ]
    assert stored_types(channel)[-3:] == ["reaction.added", "reaction.added", "reaction.removed"]
    last = StreamEvent.objects.filter(stream_id=str(channel.pk)).order_by("-seq").first()
    assert last.body["message"] == {"id": message.pk}
    assert (last.body["emoji"], last.body["user"]["username"]) == ("👍", "ann")
    assert message_payload(message)["reactions"] == [{"emoji": "👍", "count": 1, "users": ["mod"]}]


@pytest.mark.django_db
def test_adding_twice_or_removing_what_is_not_there_changes_nothing(room):
    channel, mod, ann = room
    message = send(mod, channel)
    service.add_reaction(actor=ann, message_id=message.pk, emoji="🎉")
    before = StreamEvent.objects.count()
    service.add_reaction(actor=ann, message_id=message.pk, emoji="🎉")
    service.remove_reaction(actor=ann, message_id=message.pk, emoji="❤️")
    assert StreamEvent.objects.count() == before
    assert Reaction.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("emoji", ["👍", "❤️", "👍🏽", "👩‍💻", "🇫🇷", "1️⃣", "✅"])
def test_emoji_sequences_are_accepted(emoji):
    assert service.check_emoji(emoji) == emoji


@pytest.mark.parametrize("emoji", ["", "a", "hello", "👍 ", "<b>", "👍" * 17, 5, None, "1"])
def test_anything_but_one_emoji_is_refused(emoji):
    with pytest.raises(InvalidRequest):
        service.check_emoji(emoji)


@pytest.mark.django_db
def test_distinct_reactions_per_message_are_limited_by_the_setting(room, settings):
    settings.REACTIONS_PER_MESSAGE = 2
    channel, mod, ann = room
    message = send(mod, channel)
    service.add_reaction(actor=ann, message_id=message.pk, emoji="👍")
    service.add_reaction(actor=ann, message_id=message.pk, emoji="🎉")
    with pytest.raises(service.TooManyReactions):
        service.add_reaction(actor=ann, message_id=message.pk, emoji="❤️")
    # An emoji already there can still be added by someone else.
    assert service.add_reaction(actor=mod, message_id=message.pk, emoji="👍")[0]["count"] == 2


@pytest.mark.django_db
def test_moderators_clear_and_members_cannot(room):
    channel, mod, ann = room
    message = send(ann, channel)
    service.add_reaction(actor=ann, message_id=message.pk, emoji="👍")
    with pytest.raises(NotAllowed):
        service.clear_reactions(actor=ann, message_id=message.pk)
    assert service.clear_reactions(actor=mod, message_id=message.pk) == []
    assert not Reaction.objects.exists()
    assert stored_types(channel)[-1] == "reaction.cleared"


@pytest.mark.django_db
def test_outsiders_get_not_found_and_the_banned_are_refused(room, make_user):
    channel, mod, ann = room
    message = send(mod, channel)
    outsider = make_user("outsider")
    with pytest.raises(ChannelNotFound):
        service.add_reaction(actor=outsider, message_id=message.pk, emoji="👍")
    with pytest.raises(InvalidRequest, match="does not exist"):
        service.add_reaction(actor=ann, message_id=message.pk + 1000, emoji="👍")
    ban_user(actor=mod, channel=channel, user=ann)
    with pytest.raises((NotAllowed, ChannelNotFound)):
        service.add_reaction(actor=ann, message_id=message.pk, emoji="👍")


@pytest.mark.django_db
def test_redacting_a_message_takes_its_reactions_and_refuses_new_ones(room):
    channel, mod, ann = room
    message = send(ann, channel)
    service.add_reaction(actor=mod, message_id=message.pk, emoji="👍")
    message_service.redact_message(actor=ann, message_id=message.pk)
    assert not Reaction.objects.exists()
    with pytest.raises(NotAllowed):
        service.add_reaction(actor=mod, message_id=message.pk, emoji="👍")
