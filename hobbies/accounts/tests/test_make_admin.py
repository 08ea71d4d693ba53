"""manage.py make_admin NAME [--revoke]."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command, load_command_class

from hobbies.accounts import policy
from hobbies.accounts.models import Approval, User


def run(*args: str) -> str:
    out = StringIO()
    call_command("make_admin", *args, stdout=out)
    return out.getvalue()


def test_help_names_the_argument_and_the_option():
    text = load_command_class("hobbies.accounts", "make_admin").create_parser("manage.py", "make_admin").format_help()
    assert "NAME" in text and "--revoke" in text


@pytest.mark.django_db
def test_make_admin_then_again_then_revoke(make_user):
    make_user("Alice")
    assert run("alice").strip() == "Alice is now an administrator."
    assert policy.is_administrator(User.objects.get(username="Alice"))
    assert run("ALICE").strip() == "Alice is already an administrator."
    assert run("alice", "--revoke").strip() == "Alice is no longer an administrator."
    assert not policy.is_administrator(User.objects.get(username="Alice"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ghost"], "No account is called 'ghost'."),
        (["waiting"], "waiting is not active (pending approval)."),
        (["admin", "--revoke"], "superusers are always administrators"),
    ],
)
def test_errors_are_clear_and_fail_the_command(make_user, admin_user, args, message):
    make_user("waiting", approval=Approval.PENDING)
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)
