"""manage.py setup: idempotent, non-interactive from files, interactive at a terminal."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command, load_command_class

from chat.models import Channel, Membership, Privacy, Role
from conftest import PASSWORD
from hobbies.accounts import policy
from hobbies.accounts.models import User
from hobbies.accounts.roles import ADMINISTRATORS_GROUP


def run(*args: str) -> str:
    out = StringIO()
    call_command("setup", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


def test_help_explains_the_options():
    text = load_command_class("chat", "setup").create_parser("manage.py", "setup").format_help()
    for option in ("--admin-username", "--admin-password-file", "--channel-name", "--no-input"):
        assert option in text


@pytest.mark.django_db
def test_setup_from_files_then_again_changes_nothing(password_file):
    Group.objects.filter(name=ADMINISTRATORS_GROUP).delete()
    first = run("--admin-username", "chief", "--admin-password-file", str(password_file), "--no-input")
    assert "Database: migrated." in first
    assert "Roles: Community administrators" in first
    assert "Administrator: chief (created)." in first
    assert "Channel: General (created, public, moderated by chief)." in first
    assert "Next:" in first and "manage.py approve_users --all-pending" in first
    chief = User.objects.get(username="chief")
    assert policy.is_administrator(chief) and chief.check_password(PASSWORD)
    general = Channel.objects.get(name="General")
    assert general.privacy == Privacy.PUBLIC
    assert Membership.objects.get(channel=general).role == Role.MODERATOR
    again = run("--admin-username", "chief", "--admin-password-file", str(password_file), "--no-input")
    assert "Administrator: chief (exists)." in again and "Channel: General (exists)." in again
    assert (User.objects.count(), Channel.objects.count(), Group.objects.count()) == (1, 1, 1)


@pytest.mark.django_db
def test_without_an_administrator_it_says_how_to_get_one_and_waits_for_the_channel():
    output = run("--no-input")
    assert "Administrator: none yet. The first account registered in the browser becomes the administrator" in output
    assert "Channel: General will be created by the next setup" in output
    assert not Channel.objects.exists()


@pytest.mark.django_db
def test_an_existing_founder_is_the_administrator(admin_user):
    output = run("--no-input", "--channel-name", "Lobby")
    assert "Administrator: admin (exists)." in output
    assert Channel.objects.get().name == "Lobby"


@pytest.mark.django_db
def test_interactive_setup_asks_for_the_administrator(monkeypatch):
    answers = iter([PASSWORD, "different", PASSWORD, PASSWORD])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "chief")
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    output = run("--no-channel")
    assert "Administrator: chief (created)." in output
    assert not Channel.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--admin-username", "chief"], "go together"),
        (["--admin-username", "chief", "--admin-password-file", "/nonexistent/pw"], "Cannot read the password file"),
        (["--admin-username", "chief", "--admin-password-file", "{weak}"], "could not be created"),
    ],
)
def test_errors_fail_the_command(tmp_path, args, message):
    weak = tmp_path / "weak"
    weak.write_text("short\n")
    with pytest.raises(CommandError, match=message):
        run(*[str(weak) if arg == "{weak}" else arg for arg in args], "--no-input")
    assert not User.objects.exists()
