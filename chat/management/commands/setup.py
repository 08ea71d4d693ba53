"""manage.py setup: everything a new community needs, safe to run again (make run runs it).

1. migrate the database;
2. the Community administrators group (setup_roles);
3. the first administrator: from --admin-username and --admin-password-file, or asked for at the
   terminal, or left to the first person who registers in the browser;
4. a public channel everyone can join (--channel-name, default "General");
5. what to do next.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.exceptions import ChatError
from chat.management.commands.create_channel import first_administrator
from chat.models import Channel, ChannelType, Mode, Privacy
from chat.services.channels import create_channel
from hobbies.accounts import administrators, services
from hobbies.accounts.models import User
from hobbies.accounts.roles import ADMINISTRATORS_GROUP, OPERATOR

DEFAULT_CHANNEL = "General"


def refusal(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


class Command(BaseCommand):
    help = (
        "Set up the community (idempotent): migrate, roles, the first administrator "
        "(--admin-username/--admin-password-file, or asked for), a default public channel, then say what next."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-username", metavar="NAME", help="the first administrator's user name")
        parser.add_argument(
            "--admin-password-file",
            type=Path,
            metavar="FILE",
            help="a file holding the first administrator's password (its first line)",
        )
        parser.add_argument("--admin-email", default="", metavar="EMAIL")
        parser.add_argument(
            "--channel-name", default=DEFAULT_CHANNEL, help=f"the default public channel (default {DEFAULT_CHANNEL!r})"
        )
        parser.add_argument("--no-channel", action="store_true", help="do not create the default channel")
        parser.add_argument(
            "--noinput", "--no-input", dest="interactive", action="store_false", help="never ask anything"
        )

    def handle(self, *args, **options) -> None:
        if bool(options["admin_username"]) != bool(options["admin_password_file"]):
            raise CommandError("--admin-username and --admin-password-file go together.")
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0), stdout=self.stdout)
        self.stdout.write("Database: migrated.")
        report = administrators.setup_roles(actor=OPERATOR)
        self.stdout.write(f"Roles: {ADMINISTRATORS_GROUP} ({report.total} permissions).")
        admin = self._administrator(options)
        channel = None if options["no_channel"] else self._channel(options["channel_name"], admin)
        self._next_steps(admin, channel)

    # The first administrator

    def _administrator(self, options: dict) -> User | None:
        existing = first_administrator()
        wanted = options["admin_username"]
        if existing is not None:
            if wanted and existing.username.lower() != wanted.lower():
                self.stdout.write(
                    f"Administrator: {existing.username} exists already, so {wanted} was not created "
                    f"(manage.py make_admin {wanted} makes another)."
                )
            else:
                self.stdout.write(f"Administrator: {existing.username} (exists).")
            return existing
        if wanted:
            return self._create(wanted, self._password_from(options["admin_password_file"]), options["admin_email"])
        if options["interactive"] and sys.stdin.isatty():
            return self._ask(options["admin_email"])
        self.stdout.write(
            "Administrator: none yet. The first account registered in the browser becomes the administrator, "
            "or run: manage.py setup --admin-username NAME --admin-password-file FILE"
        )
        return None

    @staticmethod
    def _password_from(path: Path) -> str:
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise CommandError(f"Cannot read the password file {path}: {error.strerror}.") from None
        if not lines or not lines[0]:
            raise CommandError(f"The password file {path} is empty.")
        return lines[0]

    def _create(self, username: str, password: str, email: str) -> User:
        try:
            user = services.create_first_administrator(
                actor=OPERATOR, username=username, password=password, email=email
            )
        except (PermissionDenied, ValidationError) as error:
            raise CommandError(f"The administrator could not be created: {refusal(error)}") from None
        self.stdout.write(f"Administrator: {user.username} (created).")
        return user

    def _ask(self, email: str) -> User:
        self.stdout.write("Create the first administrator.")
        for _attempt in range(3):
            username = input("User name: ").strip()
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The passwords differ; try again.")
                continue
            try:
                return self._create(username, password, email)
            except CommandError as error:
                self.stderr.write(str(error))
        raise CommandError("No administrator was created.")

    # The default channel

    def _channel(self, name: str, admin: User | None) -> Channel | None:
        if existing := Channel.objects.group().filter(name__iexact=name).first():
            self.stdout.write(f"Channel: {existing.name} (exists).")
            return existing
        if admin is None:
            self.stdout.write(f"Channel: {name} will be created by the next setup, once there is an administrator.")
            return None
        try:
            channel = create_channel(
                actor=admin, name=name, privacy=Privacy.PUBLIC, mode=Mode.RESTRICTED, channel_type=ChannelType.STANDARD
            )
        except (ChatError, ValidationError) as error:
            raise CommandError(f"The channel {name!r} could not be created: {refusal(error)}") from None
        self.stdout.write(f"Channel: {channel.name} (created, public, moderated by {admin.username}).")
        return channel

    def _next_steps(self, admin: User | None, channel: Channel | None) -> None:
        pending = User.objects.pending().count()
        steps = [
            "Serve it: make run, then open http://127.0.0.1:8000/",
            f"Sign in as {admin.username}; Administration is at /admin/"
            if admin
            else "Register the first account there: it becomes the administrator",
            "Channel moderators (not staff) moderate their channels at /moderation/",
            "Approve registrations: /admin/ (pending approvals in the header) or manage.py approve_users --all-pending"
            + (f" ({pending} waiting)" if pending else ""),
            "More channels: manage.py create_channel NAME --privacy public|private [--moderator NAME] [--members a,b]",
            "More administrators: manage.py make_admin NAME",
        ]
        self.stdout.write("Next:")
        for step in steps:
            self.stdout.write(f"  - {step}")
