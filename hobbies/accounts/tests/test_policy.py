"""hobbies/accounts/policy.py: who is an administrator, who changes accounts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from hobbies.accounts import policy
from hobbies.accounts.roles import ADMINISTRATORS_GROUP, OPERATOR


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "in_group", "expected"),
    [
        ({"is_superuser": True, "is_staff": True}, False, True),
        ({"is_staff": True}, True, True),
        ({"is_staff": True}, False, False),  # staff alone is no administrator
        ({}, True, False),  # nor the group without staff status
        ({"is_staff": True, "is_active": False}, True, False),
        ({"is_superuser": True, "is_active": False}, False, False),
    ],
)
def test_is_administrator(make_user, fields, in_group, expected):
    user = make_user("someone", **fields)
    if in_group:
        user.groups.add(Group.objects.get(name=ADMINISTRATORS_GROUP))
    assert policy.is_administrator(user) is expected
    assert (user in type(user).objects.administrators()) is expected


def test_anonymous_visitors_and_the_command_line():
    assert not policy.is_administrator(AnonymousUser())
    assert policy.is_administrator(OPERATOR)
    assert policy.can_grant_administrator(OPERATOR)


@pytest.mark.django_db
def test_active_state_changes(make_user, make_administrator, admin_user):
    administrator, other_admin, member = make_administrator("boss"), make_administrator("other"), make_user("member")
    assert policy.can_change_active_state(administrator, member)
    assert not policy.can_change_active_state(administrator, administrator)
    assert not policy.can_change_active_state(administrator, other_admin)
    assert not policy.can_change_active_state(administrator, admin_user)
    assert not policy.can_change_active_state(member, make_user("victim"))
    assert policy.can_change_active_state(admin_user, other_admin)
