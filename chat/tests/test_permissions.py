"""The permission matrix: every action × role × privacy/mode, in one table, against the services
and against the HTTP endpoints.

Columns of each cell, in order: private restricted, private unrestricted, public (always restricted).
Y = allowed, N = refused. A refusal is "not found" (404) when the role may not even view the
channel, "not allowed" (403) otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.urls import reverse

from chat.exceptions import ChannelNotFound, NotAllowed
from chat.models import Ban, Channel, Membership, Message, Mode, Privacy, Reaction, Report, Role
from chat.services import channels as channel_services
from chat.services import memberships as membership_services
from chat.services import messages as message_services
from chat.services import reactions as reaction_services
from chat.services import reports as report_services
from chat.services.access import get_channel_access

ROLES = ("admin", "moderator", "member", "non-member", "banned")
SETTINGS = {
    0: (Privacy.PRIVATE, Mode.RESTRICTED),
    1: (Privacy.PRIVATE, Mode.UNRESTRICTED),
    2: (Privacy.PUBLIC, Mode.RESTRICTED),
}

# fmt: off
MATRIX = {
    #                 admin   moderator member  non-member banned
    "view":          ("YYY",  "YYY",    "YYY",  "NNY",     "NNY"),
    "join":          ("NNY",  "YYY",    "YYY",  "NNY",     "NNN"),
    "leave":         ("NNN",  "YYY",    "YYY",  "NNN",     "NNN"),
    "add_member":    ("YYY",  "YYY",    "NYN",  "NNN",     "NNN"),
    "remove_member": ("YYY",  "YYY",    "NNN",  "NNN",     "NNN"),
    "promote":       ("YYY",  "YYY",    "NNN",  "NNN",     "NNN"),
    "demote":        ("YYY",  "YYY",    "NNN",  "NNN",     "NNN"),
    "ban":           ("YYY",  "YYY",    "NNN",  "NNN",     "NNN"),
    "unban":         ("YYY",  "YYY",    "NNN",  "NNN",     "NNN"),
    "edit_name":     ("YYY",  "YYY",    "NNN",  "NNN",     "NNN"),
    "change_mode":   ("YYN",  "YYN",    "NNN",  "NNN",     "NNN"),
    "delete":        ("YYY",  "YYY",    "NNN",  "NNN",     "NNN"),
    "report":        ("YYY",  "YYY",    "YYY",  "NNY",     "NNY"),
    "react":         ("NNY",  "YYY",    "YYY",  "NNY",     "NNN"),
    "clear_reactions": ("YYY", "YYY",   "NNN",  "NNN",     "NNN"),
}
# fmt: on


def flipped(mode: str) -> str:
    return Mode.UNRESTRICTED if mode == Mode.RESTRICTED else Mode.RESTRICTED


@dataclass(frozen=True)
class Action:
    service: Callable  # (world, actor) -> None
    request: Callable  # (world) -> (url, data); data None means GET
    done: Callable  # (world, actor) -> bool: the effect, checked when allowed


def member_of(world, user) -> Membership | None:
    return Membership.objects.filter(channel=world.channel, user=user).first()


def url(name, world, user=None) -> str:
    kwargs = {"channel_id": world.channel.pk} | ({"user_id": user.pk} if user else {})
    return reverse(name, kwargs=kwargs)


ACTIONS = {
    "view": Action(
        service=lambda w, a: get_channel_access(a, w.channel.pk),
        request=lambda w: (url("chat-channel", w), None),
        done=lambda w, a: True,
    ),
    "join": Action(
        service=lambda w, a: membership_services.join_channel(actor=a, channel=w.channel),
        request=lambda w: (url("chat-join", w), {}),
        done=lambda w, a: member_of(w, a) is not None,
    ),
    "leave": Action(
        service=lambda w, a: membership_services.leave_channel(actor=a, channel=w.channel),
        request=lambda w: (url("chat-leave", w), {}),
        done=lambda w, a: member_of(w, a) is None,
    ),
    "add_member": Action(
        service=lambda w, a: membership_services.add_members(actor=a, channel=w.channel, users=[w.newcomer]),
        request=lambda w: (url("chat-add-member", w), {"username": "newcomer"}),
        done=lambda w, a: member_of(w, w.newcomer) is not None,
    ),
    "remove_member": Action(
        service=lambda w, a: membership_services.remove_member(actor=a, channel=w.channel, user=w.other_member),
        request=lambda w: (url("chat-remove-member", w, w.other_member), {}),
        done=lambda w, a: member_of(w, w.other_member) is None,
    ),
    "promote": Action(
        service=lambda w, a: membership_services.promote_moderator(actor=a, channel=w.channel, user=w.other_member),
        request=lambda w: (url("chat-promote", w, w.other_member), {}),
        done=lambda w, a: member_of(w, w.other_member).role == Role.MODERATOR,
    ),
    "demote": Action(
        service=lambda w, a: membership_services.demote_moderator(actor=a, channel=w.channel, user=w.second_moderator),
        request=lambda w: (url("chat-demote", w, w.second_moderator), {}),
        done=lambda w, a: member_of(w, w.second_moderator).role == Role.MEMBER,
    ),
    "ban": Action(
        service=lambda w, a: membership_services.ban_user(actor=a, channel=w.channel, user=w.other_member),
        request=lambda w: (url("chat-ban", w, w.other_member), {}),
        done=lambda w, a: (
            Ban.objects.filter(channel=w.channel, user=w.other_member).exists() and member_of(w, w.other_member) is None
        ),
    ),
    "unban": Action(
        service=lambda w, a: membership_services.unban_user(actor=a, channel=w.channel, user=w.exiled),
        request=lambda w: (url("chat-unban", w, w.exiled), {}),
        done=lambda w, a: not Ban.objects.filter(channel=w.channel, user=w.exiled).exists(),
    ),
    "edit_name": Action(
        service=lambda w, a: channel_services.update_channel(actor=a, channel=w.channel, name="Renamed"),
        request=lambda w: (url("chat-edit", w), {"name": "Renamed", "mode": w.channel.mode}),
        done=lambda w, a: Channel.objects.get(pk=w.channel.pk).name == "Renamed",
    ),
    "change_mode": Action(
        service=lambda w, a: channel_services.update_channel(
            actor=a, channel=w.channel, name=w.channel.name, mode=flipped(w.initial_mode)
        ),
        request=lambda w: (url("chat-edit", w), {"name": w.channel.name, "mode": flipped(w.initial_mode)}),
        done=lambda w, a: Channel.objects.get(pk=w.channel.pk).mode == flipped(w.initial_mode),
    ),
    "delete": Action(
        service=lambda w, a: channel_services.delete_channel(actor=a, channel=w.channel),
        request=lambda w: (url("chat-delete", w), {}),
        done=lambda w, a: not Channel.objects.filter(pk=w.channel.pk).exists(),
    ),
    "report": Action(
        service=lambda w, a: report_services.report_message(actor=a, message_id=message_of(w).pk, reason="spam"),
        request=lambda w: (reverse("chat-report", args=[message_of(w).pk]), {"reason": "spam"}),
        done=lambda w, a: Report.objects.filter(reporter=a, message__channel=w.channel).exists(),
    ),
    "react": Action(
        service=lambda w, a: reaction_services.add_reaction(actor=a, message_id=message_of(w).pk, emoji="👍"),
        request=lambda w: (reverse("chat-react", args=[message_of(w).pk]), {"emoji": "👍"}),
        done=lambda w, a: Reaction.objects.filter(user=a, message__channel=w.channel, emoji="👍").exists(),
    ),
    "clear_reactions": Action(
        service=lambda w, a: reaction_services.clear_reactions(actor=a, message_id=reacted_message_of(w).pk),
        request=lambda w: (reverse("chat-clear-reactions", args=[reacted_message_of(w).pk]), {}),
        done=lambda w, a: not Reaction.objects.filter(message__channel=w.channel).exists(),
    ),
}


def message_of(world) -> Message:
    """A message of `other_member`'s in the world's channel, for the report row."""
    found = Message.objects.filter(channel=world.channel, author=world.other_member).first()
    if found is None:
        found = message_services.send_message(
            actor=world.other_member, channel_id=world.channel.pk, content="Hi", client_msg_id=uuid.uuid4()
        ).message
    return found


def reacted_message_of(world) -> Message:
    """`message_of`, with a reaction of its author's on it, for the clear_reactions row."""
    message = message_of(world)
    reaction_services.add_reaction(actor=world.other_member, message_id=message.pk, emoji="🎉")
    return message


CASES = [
    pytest.param(action, role, column, id=f"{action}-{role}-{SETTINGS[column][0]}-{SETTINGS[column][1]}")
    for action, row in MATRIX.items()
    for role, cells in zip(ROLES, row, strict=True)
    for column in SETTINGS
]


def expectation(action: str, role: str, column: int) -> tuple[bool, bool]:
    """(allowed, visible) for one cell."""
    allowed = MATRIX[action][ROLES.index(role)][column] == "Y"
    visible = MATRIX["view"][ROLES.index(role)][column] == "Y"
    return allowed, visible


def test_the_table_covers_every_action_and_cell():
    assert set(MATRIX) == set(ACTIONS)
    assert all(len(cells) == len(SETTINGS) for row in MATRIX.values() for cells in row)


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "role", "column"), CASES)
def test_services_follow_the_matrix(make_world, action, role, column):
    world = make_world(*SETTINGS[column])
    actor = world.actor(role)
    allowed, visible = expectation(action, role, column)
    if allowed:
        ACTIONS[action].service(world, actor)
        assert ACTIONS[action].done(world, actor)
    else:
        with pytest.raises(NotAllowed if visible else ChannelNotFound):
            ACTIONS[action].service(world, actor)


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "role", "column"), CASES)
def test_http_endpoints_follow_the_matrix(client, make_world, action, role, column):
    world = make_world(*SETTINGS[column])
    actor = world.actor(role)
    allowed, visible = expectation(action, role, column)
    client.force_login(actor)
    path, data = ACTIONS[action].request(world)
    response = client.get(path) if data is None else client.post(path, data)
    if allowed:
        assert response.status_code == (200 if data is None else 302)
        assert ACTIONS[action].done(world, actor)
    else:
        assert response.status_code == (403 if visible else 404)
