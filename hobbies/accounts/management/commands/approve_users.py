"""manage.py approve_users NAME... | --all-pending: approve registrations, as the admin's
"Approve selected registrations" does (hobbies/accounts/services.py approve_users)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hobbies.accounts import services
from hobbies.accounts.models import Approval, User
from hobbies.accounts.roles import OPERATOR


class Command(BaseCommand):
    help = (
        "Approve waiting (or rejected) registrations by user name, or every pending one with --all-pending. "
        "Approved people confirm their account at their next sign-in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("usernames", nargs="*", metavar="NAME", help="user names to approve")
        parser.add_argument("--all-pending", action="store_true", help="approve every pending registration")

    def handle(self, *args, usernames: list[str], all_pending: bool, **options) -> None:
        if bool(usernames) == all_pending:
            raise CommandError("Give user names or --all-pending (not both).")
        users = list(User.objects.pending().order_by("username")) if all_pending else self._named(usernames)
        waiting = [user for user in users if user.approval in (Approval.PENDING, Approval.REJECTED)]
        for user in users:
            if user not in waiting:
                self.stdout.write(f"{user.username}: nothing to approve ({user.get_approval_display().lower()}).")
        if not waiting:
            self.stdout.write("No registration to approve.")
            return
        try:
            count = services.approve_users(actor=OPERATOR, users=waiting)
        except PermissionDenied as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Approved {count}: {', '.join(user.username for user in waiting)}.")

    @staticmethod
    def _named(usernames: list[str]) -> list[User]:
        found, missing = [], []
        for name in dict.fromkeys(usernames):
            user = User.objects.by_username(name).first()
            (found if user else missing).append(user or name)
        if missing:
            raise CommandError(f"No account is called: {', '.join(missing)}. Nothing was approved.")
        return found
