"""manage.py setup_roles: create the "Community administrators" group or bring its permissions
in step with hobbies/accounts/roles.py. Safe to run any time."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from hobbies.accounts import administrators
from hobbies.accounts.roles import ADMINISTRATORS_GROUP, OPERATOR


class Command(BaseCommand):
    help = f'Create the "{ADMINISTRATORS_GROUP}" group with exactly the permissions administrators need (idempotent).'

    def handle(self, *args, **options) -> None:
        try:
            report = administrators.setup_roles(actor=OPERATOR)
        except (PermissionDenied, ValidationError) as error:
            raise CommandError(" ".join(getattr(error, "messages", [str(error)]))) from None
        state = "created" if report.created else "checked"
        self.stdout.write(f"{ADMINISTRATORS_GROUP}: {state}, {report.total} permissions.")
        for name in report.added:
            self.stdout.write(f"  + {name}")
        for name in report.removed:
            self.stdout.write(f"  - {name}")
