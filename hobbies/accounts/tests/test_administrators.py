"""hobbies/accounts/administrators.py: the Community administrators group and who is in it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError

from hobbies.accounts import administrators, policy
from hobbies.accounts.models import Approval
from hobbies.accounts.roles import ADMINISTRATOR_PERMISSIONS, ADMINISTRATORS_GROUP, OPERATOR


def group_permissions() -> set[str]:
    group = Group.objects.get(name=ADMINISTRATORS_GROUP)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.django_db
def test_the_data_migration_made_the_group_with_exactly_these_permissions():
    assert group_permissions() == set(ADMINISTRATOR_PERMISSIONS)


@pytest.mark.django_db
def test_setup_roles_puts_the_group_back_in_step():
    group = Group.objects.get(name=ADMINISTRATORS_GROUP)
    group.permissions.remove(Permission.objects.get(codename="view_report"))
    group.permissions.add(Permission.objects.get(codename="delete_user"))
    report = administrators.setup_roles(actor=OPERATOR)
    assert (report.created, report.added, report.removed) == (False, ["chat.view_report"], ["accounts.delete_user"])
    assert group_permissions() == set(ADMINISTRATOR_PERMISSIONS)
    again = administrators.setup_roles(actor=OPERATOR)
    assert (again.added, again.removed, again.total) == ([], [], len(ADMINISTRATOR_PERMISSIONS))


@pytest.mark.django_db
def test_setup_roles_creates_a_missing_group():
    Group.objects.filter(name=ADMINISTRATORS_GROUP).delete()
    assert administrators.setup_roles(actor=OPERATOR).created
    assert group_permissions() == set(ADMINISTRATOR_PERMISSIONS)


@pytest.mark.django_db
def test_making_an_administrator_sets_group_and_staff_and_revoking_takes_both(make_user, admin_user):
    alice = make_user("alice")
    assert not policy.is_administrator(alice)
    assert administrators.make_administrator(actor=admin_user, user=alice)
    alice.refresh_from_db()
    assert alice.is_staff and policy.is_administrator(alice)
    assert alice.has_perm("chat.view_report") and not alice.has_perm("accounts.delete_user")
    assert not administrators.make_administrator(actor=admin_user, user=alice)  # already one
    assert administrators.revoke_administrator(actor=admin_user, user=alice)
    alice.refresh_from_db()
    assert not alice.is_staff and not policy.is_administrator(alice)


@pytest.mark.django_db
def test_only_superusers_grant_the_role(make_user, make_administrator):
    administrator, bob = make_administrator("boss"), make_user("bob")
    with pytest.raises(PermissionDenied):
        administrators.make_administrator(actor=administrator, user=bob)
    with pytest.raises(PermissionDenied):
        administrators.revoke_administrator(actor=bob, user=administrator)


@pytest.mark.django_db
def test_inactive_accounts_and_superusers_are_refused(make_user, admin_user):
    pending = make_user("waiting", approval=Approval.PENDING)
    with pytest.raises(ValidationError, match="not active"):
        administrators.make_administrator(actor=OPERATOR, user=pending)
    with pytest.raises(ValidationError, match="superuser"):
        administrators.revoke_administrator(actor=OPERATOR, user=admin_user)
