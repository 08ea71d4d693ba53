"""manage.py make_admin NAME [--revoke]: make someone a community administrator (the group and
staff status, through hobbies/accounts/administrators.py), or take the role back."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hobbies.accounts import administrators
from hobbies.accounts.models import User
from hobbies.accounts.roles import ADMINISTRATORS_GROUP, OPERATOR


class Command(BaseCommand):
    help = (
        f'Make NAME a community administrator: a member of "{ADMINISTRATORS_GROUP}" with staff status, '
        "who runs the community from /admin/. --revoke takes the role back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", metavar="NAME", help="the user name (case does not matter)")
        parser.add_argument("--revoke", action="store_true", help="take the administrator role back instead")

    def handle(self, *args, username: str, revoke: bool, **options) -> None:
        user = User.objects.by_username(username).first()
        if user is None:
            raise CommandError(f"No account is called {username!r}.")
        change = administrators.revoke_administrator if revoke else administrators.make_administrator
        try:
            changed = change(actor=OPERATOR, user=user)
        except (PermissionDenied, ValidationError) as error:
            raise CommandError(" ".join(getattr(error, "messages", [str(error)]))) from None
        if revoke:
            self.stdout.write(f"{user.username} is {'no longer' if changed else 'not'} an administrator.")
        else:
            self.stdout.write(f"{user.username} is {'now' if changed else 'already'} an administrator.")
