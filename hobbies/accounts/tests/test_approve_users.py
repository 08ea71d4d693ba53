"""manage.py approve_users NAME... | --all-pending."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command, load_command_class

from hobbies.accounts.models import Approval, User


def run(*args: str) -> str:
    out = StringIO()
    call_command("approve_users", *args, stdout=out)
    return out.getvalue()


def approvals() -> dict[str, str]:
    return dict(User.objects.values_list("username", "approval"))


def test_help_names_both_forms():
    parser = load_command_class("hobbies.accounts", "approve_users").create_parser("manage.py", "approve_users")
    assert "--all-pending" in parser.format_help() and "NAME" in parser.format_help()


@pytest.mark.django_db
def test_approve_by_name(make_user):
    for name in ("ann", "bob", "cid"):
        make_user(name, approval=Approval.PENDING)
    make_user("done")
    output = run("ann", "Bob", "done")
    assert "Approved 2: ann, bob." in output
    assert "done: nothing to approve (active)." in output
    assert approvals() == {"ann": "activated", "bob": "activated", "cid": "pending", "done": "active"}
    assert User.objects.get(username="ann").is_active


@pytest.mark.django_db
def test_approve_all_pending(make_user):
    make_user("ann", approval=Approval.PENDING)
    make_user("rex", approval=Approval.REJECTED)
    assert "Approved 1: ann." in run("--all-pending")
    assert approvals() == {"ann": "activated", "rex": "rejected"}
    assert "No registration to approve." in run("--all-pending")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [([], "Give user names or --all-pending"), (["ann", "--all-pending"], "not both"), (["ann", "ghost"], "ghost")],
)
def test_errors_fail_the_command_and_approve_nobody(make_user, args, message):
    make_user("ann", approval=Approval.PENDING)
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert approvals() == {"ann": "pending"}
