"""Every change to the administrator role: the Community administrators group, its permissions, its members.

The role itself is defined in hobbies/accounts/roles.py and asked through
hobbies.accounts.policy.is_administrator. Each function takes the acting user (``actor=``; from
``manage.py``, ``roles.OPERATOR``) and raises PermissionDenied or ValidationError.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from hobbies.accounts import policy
from hobbies.accounts.models import User
from hobbies.accounts.roles import ADMINISTRATOR_PERMISSIONS, ADMINISTRATORS_GROUP, OPERATOR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RolesReport:
    created: bool
    added: list[str]
    removed: list[str]
    total: int


def setup_roles(*, actor) -> RolesReport:
    """Create the administrators' group if missing and give it exactly ADMINISTRATOR_PERMISSIONS."""
    if not policy.can_grant_administrator(actor):
        raise PermissionDenied("Only superusers set up roles.")
    with transaction.atomic():
        group, created = Group.objects.get_or_create(name=ADMINISTRATORS_GROUP)
        wanted = _permissions(ADMINISTRATOR_PERMISSIONS)
        current = {_name(permission): permission for permission in _typed(group.permissions.all())}
        added = sorted(name for name in wanted if name not in current)
        removed = sorted(name for name in current if name not in wanted)
        group.permissions.add(*(wanted[name] for name in added))
        group.permissions.remove(*(current[name] for name in removed))
    log.info("event=roles_set_up created=%s added=%d removed=%d", created, len(added), len(removed))
    return RolesReport(created=created, added=added, removed=removed, total=len(wanted))


def _permissions(names: Iterable[str]) -> dict[str, Permission]:
    names = set(names)
    found = {_name(p): p for p in _typed(Permission.objects.filter(codename__in=_codenames(names)))}
    if names - set(found):
        # Permissions are made after migrate; a database that has not had that signal gets them now.
        from django.apps import apps
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        found = {_name(p): p for p in _typed(Permission.objects.filter(codename__in=_codenames(names)))}
    if missing := names - set(found):
        raise ValidationError(f"Unknown permissions: {', '.join(sorted(missing))}. Run manage.py migrate first.")
    return {name: found[name] for name in names}


def _codenames(names: Iterable[str]) -> list[str]:
    return [name.split(".", 1)[1] for name in names]


def _typed(permissions) -> Iterable[Permission]:
    return permissions.select_related("content_type")


def _name(permission: Permission) -> str:
    return f"{permission.content_type.app_label}.{permission.codename}"


def group() -> Group:
    """The Community administrators group, set up first if it is missing (a flushed test database,
    an install that skipped the data migration)."""
    found = Group.objects.filter(name=ADMINISTRATORS_GROUP).first()
    if found is None:
        setup_roles(actor=OPERATOR)
        found = Group.objects.get(name=ADMINISTRATORS_GROUP)
    return found


def make_administrator(*, actor, user: User) -> bool:
    """Put `user` in the Community administrators group and make them staff; True when it changed."""
    if not policy.can_grant_administrator(actor):
        raise PermissionDenied("Only superusers make administrators.")
    if not user.is_active:
        raise ValidationError(f"{user.username} is not active ({user.get_approval_display().lower()}).")
    was = policy.is_administrator(user)
    with transaction.atomic():
        user.groups.add(group())
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    forget_role(user)
    log.info("event=administrator_granted actor=%s user=%s", actor.username, user.username)
    return not was


def revoke_administrator(*, actor, user: User) -> bool:
    """Take the administrator role back (the group and staff status); True when it changed."""
    if not policy.can_grant_administrator(actor):
        raise PermissionDenied("Only superusers remove administrators.")
    if user.is_superuser:
        raise ValidationError(f"{user.username} is a superuser: superusers are always administrators.")
    was = policy.is_administrator(user)
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name=ADMINISTRATORS_GROUP))
        if user.is_staff:
            user.is_staff = False
            user.save(update_fields=["is_staff"])
    forget_role(user)
    log.info("event=administrator_revoked actor=%s user=%s", actor.username, user.username)
    return was


def sync_group(user: User, is_admin: bool) -> None:
    """The OIDC provider's admin groups decide the role (no actor: the provider is the authority);
    the caller sets staff status alongside."""
    if is_admin == user.in_administrators_group:
        return
    if is_admin:
        user.groups.add(group())
    else:
        user.groups.remove(*Group.objects.filter(name=ADMINISTRATORS_GROUP))
    forget_role(user)


def forget_role(user: User) -> None:
    """Drop the cached group answer on this user object, so the next question asks again."""
    user.__dict__.pop("in_administrators_group", None)
