"""Demo data for trying the app and for load tests: users, a public and a private channel, and
optionally an elastic one. Safe to run again: what exists is kept, what is missing is added, and
demo users banned from a channel (or deactivated) are left out of it and named."""

from __future__ import annotations

import json
import math
import time
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from chat.exceptions import ChatError
from chat.models import Ban, Channel, ChannelType, Membership, Mode, Privacy
from chat.services.channels import create_channel
from chat.services.memberships import add_members
from hobbies.accounts.models import Approval, Profile, User
from hobbies.accounts.services import has_administrator

# Deliberately public: printed by the command and documented, for demo accounts only.
DEMO_PASSWORD = "Demo#Pass1"  # noqa: S105
USERNAME_PREFIX = "demo"
PRIVATE_MEMBERS = 10
ELASTIC_TARGET = 100
FAST_ITERATIONS = 1_000


def demo_username(number: int) -> str:
    return f"{USERNAME_PREFIX}{number:04d}"


class Command(BaseCommand):
    help = "Create demo users and channels (idempotent). Prints the demo password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=20, help="How many demo users (default 20).")
        parser.add_argument("--elastic", action="store_true", help="Also create an elastic channel with every user.")
        parser.add_argument(
            "--fast-passwords",
            action="store_true",
            help=f"Benchmarks only: hash the password with {FAST_ITERATIONS} PBKDF2 iterations "
            "(Django re-hashes it at full strength on first sign-in).",
        )
        parser.add_argument(
            "--sessions",
            type=Path,
            metavar="FILE",
            help="Load tests only: sign every demo user in (one new session each) and write the "
            "session keys and channel ids to FILE as JSON.",
        )

    def handle(
        self, *args, users: int, elastic: bool, fast_passwords: bool, sessions: Path | None = None, **options
    ) -> None:
        if users < 2:
            raise CommandError("--users must be at least 2.")
        started = time.monotonic()
        with transaction.atomic():
            people, created = self._users(users, fast_passwords=fast_passwords)
            owner = people[0]
            public = self._channel(owner, "Demo public", Privacy.PUBLIC)
            self._fill(owner, public, people)
            private = self._channel(owner, "Demo private", Privacy.PRIVATE)
            self._fill(owner, private, people[:PRIVATE_MEMBERS])
            channels = {"public": public.pk, "private": private.pk, "elastic": None}
            if elastic:
                maximum = max(2, math.ceil(users / ELASTIC_TARGET) + 1)
                channel = self._channel(
                    owner,
                    "Demo elastic",
                    Privacy.PUBLIC,
                    channel_type=ChannelType.ELASTIC,
                    maximum_subchannels=maximum,
                    target_memberships_per_subchannel=ELASTIC_TARGET,
                    minimum_membership_percentage=20,
                )
                self._fill(owner, channel, people)
                channels["elastic"] = channel.pk
        if sessions is not None:
            keys = {user.username: self._sign_in(user) for user in people}
            sessions.write_text(json.dumps({"channels": channels, "sessions": keys}))
            self.stdout.write(f"Sessions of {len(keys)} demo users written to {sessions}.")
        self.stdout.write(
            f"Demo users: {users} ({created} new), {demo_username(1)} to {demo_username(users)}; "
            f"{owner.username} moderates the demo channels."
        )
        self.stdout.write(f"Demo password: {DEMO_PASSWORD}")
        if not has_administrator():
            # Demo users are plain members: they do not take the first-account rule from a real person.
            self.stdout.write(
                "No administrator yet: the first person to register on the web becomes the administrator "
                "(or run manage.py createsuperuser, or manage.py setup)."
            )
        self.stdout.write(f"Done in {time.monotonic() - started:.1f}s.")

    def _users(self, count: int, *, fast_passwords: bool) -> tuple[list[User], int]:
        names = [demo_username(number) for number in range(1, count + 1)]
        existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        missing = [name for name in names if name not in existing]
        if missing:
            # One hash for every demo user (they share the password): hashing is the slow part.
            if fast_passwords:
                encoded = PBKDF2PasswordHasher().encode(DEMO_PASSWORD, PBKDF2PasswordHasher().salt(), FAST_ITERATIONS)
            else:
                encoded = make_password(DEMO_PASSWORD)
            User.objects.bulk_create(
                [User(username=name, password=encoded, approval=Approval.ACTIVE, is_active=True) for name in missing],
                batch_size=1000,
            )
            new_users = User.objects.filter(username__in=missing)
            Profile.objects.bulk_create([Profile(user=user) for user in new_users], batch_size=1000)
        by_name = {user.username: user for user in User.objects.filter(username__in=names)}
        return [by_name[name] for name in names], len(missing)

    @staticmethod
    def _sign_in(user: User) -> str:
        # What django.contrib.auth.login stores, without a request: the session cookie's value.
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        return session.session_key

    def _channel(self, owner: User, name: str, privacy: str, **fields) -> Channel:
        channel = Channel.objects.filter(name=name, created_by=owner, is_direct=False).first()
        return channel or create_channel(actor=owner, name=name, privacy=privacy, mode=Mode.RESTRICTED, **fields)

    def _fill(self, owner: User, channel: Channel, people: list[User]) -> None:
        """Seat the demo users not yet in `channel`; those banned there or deactivated are left out."""
        members = set(Membership.objects.filter(channel=channel).values_list("user_id", flat=True))
        banned = set(Ban.objects.filter(channel=channel).values_list("user_id", flat=True))
        newcomers = [user for user in people if user.pk not in members]
        self._skipped(channel, [user for user in newcomers if user.pk in banned], "demo user{s} banned there")
        inactive = [user for user in newcomers if not user.is_active and user.pk not in banned]
        self._skipped(channel, inactive, "inactive demo user{s}")
        newcomers = [user for user in newcomers if user.is_active and user.pk not in banned]
        if not newcomers:
            return
        try:
            add_members(actor=owner, channel=channel, users=newcomers)
        except ChatError as error:  # the owner lost the right to add, the channel is full, ...
            raise CommandError(f"“{channel.name}”: {error.message}") from None

    def _skipped(self, channel: Channel, users: list[User], what: str) -> None:
        if users:
            names = ", ".join(user.username for user in users)
            what = what.format(s="" if len(users) == 1 else "s")
            self.stdout.write(f"“{channel.name}”: skipped {len(users)} {what}: {names}.")
