"""manage.py create_channel NAME --privacy private|public [--mode ...] [--type ...] [--moderator NAME]
[--members a,b,c]: a channel made as the Add channel page makes it (chat/services/channels.py), its
moderator as the creator, then its members added by that moderator (chat/services/memberships.py).
All or nothing: a refused member leaves no channel behind."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from chat.exceptions import ChatError
from chat.models import Channel, ChannelType, Mode, Privacy
from chat.services.channels import create_channel
from chat.services.memberships import add_members
from hobbies.accounts.models import User

ELASTIC_DEFAULTS = {
    "maximum_subchannels": 2,
    "target_memberships_per_subchannel": 4,
    "minimum_membership_percentage": 40,
}


def first_administrator() -> User | None:
    """Who moderates what manage.py creates when nobody is named: the founder, else the oldest administrator."""
    return User.objects.administrators().order_by("-is_founder", "pk").first()


def named_users(names: list[str]) -> list[User]:
    found, missing = [], []
    for name in dict.fromkeys(names):
        user = User.objects.by_username(name).first()
        (found if user else missing).append(user or name)
    if missing:
        raise CommandError(f"No account is called: {', '.join(missing)}.")
    return found


class Command(BaseCommand):
    help = (
        "Create a channel with a moderator (its creator) and members, through the same services and rules "
        "as the Add channel page. Privacy and type cannot be changed later."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="NAME", help="the channel's name")
        parser.add_argument("--privacy", required=True, choices=Privacy.values)
        parser.add_argument(
            "--mode", choices=Mode.values, default=Mode.RESTRICTED, help="private standard channels only"
        )
        parser.add_argument("--type", dest="channel_type", choices=ChannelType.values, default=ChannelType.STANDARD)
        parser.add_argument(
            "--moderator", metavar="NAME", help="its creator and first moderator (default: the first administrator)"
        )
        parser.add_argument("--members", metavar="a,b,c", default="", help="comma-separated user names to add")
        parser.add_argument("--maximum-subchannels", type=int, metavar="N", help="elastic only (default 2)")
        parser.add_argument("--target-memberships", type=int, metavar="N", help="elastic only (default 4)")
        parser.add_argument("--minimum-percentage", type=int, metavar="N", help="elastic only (default 40)")

    def handle(self, *args, name: str, moderator: str | None, members: str, **options) -> None:
        name = name.strip()
        if existing := Channel.objects.group().filter(name__iexact=name).first():
            raise CommandError(f"A channel called {existing.name!r} exists already (id {existing.pk}).")
        owner = self._moderator(moderator)
        people = named_users([item.strip() for item in members.split(",") if item.strip()])
        settings = self._settings(options)
        try:
            with transaction.atomic():
                channel = create_channel(actor=owner, name=name, **settings)
                newcomers = [user for user in people if user.pk != owner.pk]
                if newcomers:
                    add_members(actor=owner, channel=channel, users=newcomers)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        except ChatError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Created {channel.privacy} {channel.mode} {channel.channel_type} channel {channel.name!r} "
            f"(id {channel.pk}), moderated by {owner.username}, with {len(newcomers)} other member(s)."
        )

    @staticmethod
    def _moderator(name: str | None) -> User:
        if name:
            [user] = named_users([name])
            return user
        user = first_administrator()
        if user is None:
            raise CommandError("There is no administrator yet: name the moderator with --moderator NAME.")
        return user

    @staticmethod
    def _settings(options: dict) -> dict:
        settings = {"privacy": options["privacy"], "mode": options["mode"], "channel_type": options["channel_type"]}
        given = {
            "maximum_subchannels": options["maximum_subchannels"],
            "target_memberships_per_subchannel": options["target_memberships"],
            "minimum_membership_percentage": options["minimum_percentage"],
        }
        if options["channel_type"] == ChannelType.ELASTIC:
            settings |= {
                field: default if given[field] is None else given[field] for field, default in ELASTIC_DEFAULTS.items()
            }
        elif any(value is not None for value in given.values()):
            raise CommandError(
                "--maximum-subchannels, --target-memberships and --minimum-percentage are for --type elastic."
            )
        return settings
