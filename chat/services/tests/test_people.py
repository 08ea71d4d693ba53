"""chat/services/people.py: whom the "New message" picker offers."""

from __future__ import annotations

import pytest

from chat.models import Privacy
from chat.services.memberships import add_members
from chat.services.people import message_candidates


@pytest.mark.django_db
def test_people_i_share_a_channel_with_or_everyone_for_administrators(make_user, make_channel, admin_user):
    ann, bob, cat, dan = (make_user(name) for name in ("ann", "bob", "cat", "dan"))
    make_user("eve", approval="pending")  # inactive: never offered
    channel = make_channel(ann, name="Chess", privacy=Privacy.PRIVATE)
    add_members(actor=ann, channel=channel, users=[bob, cat])
    bob.profile.display_name = "Robert Fischer"
    bob.profile.save()
    assert [person.username for person in message_candidates(actor=ann)] == ["bob", "cat"]
    assert [person.username for person in message_candidates(actor=ann, query="FISCH")] == ["bob"]
    assert [person.username for person in message_candidates(actor=ann, query="ca")] == ["cat"]
    assert message_candidates(actor=dan) == []
    everyone = [person.username for person in message_candidates(actor=admin_user)]
    assert everyone == ["ann", "bob", "cat", "dan"]
