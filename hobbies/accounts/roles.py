"""The community's roles in Django admin: what an administrator is, and who acts from the command line.

Data only. The group is created by a data migration (accounts 0003) and kept in step with
``ADMINISTRATOR_PERMISSIONS`` by ``manage.py setup_roles`` (hobbies.accounts.services.setup_roles).
Channel moderators need no group: their powers come from their memberships (chat/policy.py) and
they work in the moderation site (/moderation/, chat/admin/sites.py).
"""

from __future__ import annotations

from dataclasses import dataclass

ADMINISTRATORS_GROUP = "Community administrators"

# Exactly what administrators need, as "app_label.codename".
ADMINISTRATOR_PERMISSIONS: tuple[str, ...] = (
    # Registrations (approve, reject) and the active state of accounts.
    "accounts.view_user",
    "accounts.change_user",
    # Who signed in, when, from where.
    "accounts.view_loginevent",
    # Channels, their sub-channels (read-only), memberships and bans.
    "chat.view_channel",
    "chat.add_channel",
    "chat.change_channel",
    "chat.delete_channel",
    "chat.view_subchannel",
    "chat.view_membership",
    "chat.add_membership",
    "chat.change_membership",
    "chat.delete_membership",
    "chat.view_ban",
    "chat.add_ban",
    "chat.delete_ban",
    # Messages (redact, remove entirely), their edit history and attachments.
    "chat.view_message",
    "chat.change_message",
    "chat.delete_message",
    "chat.view_messagerevision",
    "chat.view_attachment",
    # The report queue.
    "chat.view_report",
    "chat.change_report",
)


@dataclass(frozen=True)
class Operator:
    """Whoever runs ``manage.py``: they can already act as anyone, so the services let them act
    as an administrator. Never a request's user; logs show its ``username``."""

    username: str = "manage.py"
    pk: None = None
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = True
    is_superuser: bool = True
    is_community_administrator: bool = True


OPERATOR = Operator()
