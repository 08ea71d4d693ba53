"""manage.py setup_roles."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command, load_command_class

from hobbies.accounts.roles import ADMINISTRATOR_PERMISSIONS, ADMINISTRATORS_GROUP


def run(*args: str) -> str:
    out = StringIO()
    call_command("setup_roles", *args, stdout=out)
    return out.getvalue()


def test_help_says_what_it_does():
    parser = load_command_class("hobbies.accounts", "setup_roles").create_parser("manage.py", "setup_roles")
    assert "Community administrators" in parser.format_help()


@pytest.mark.django_db
def test_setup_roles_creates_then_checks_and_repairs():
    Group.objects.filter(name=ADMINISTRATORS_GROUP).delete()
    assert f"{ADMINISTRATORS_GROUP}: created, {len(ADMINISTRATOR_PERMISSIONS)} permissions." in run()
    assert run().strip() == f"{ADMINISTRATORS_GROUP}: checked, {len(ADMINISTRATOR_PERMISSIONS)} permissions."
    Group.objects.get(name=ADMINISTRATORS_GROUP).permissions.add(Permission.objects.get(codename="delete_user"))
    assert "  - accounts.delete_user" in run()
    assert Group.objects.get(name=ADMINISTRATORS_GROUP).permissions.count() == len(ADMINISTRATOR_PERMISSIONS)
