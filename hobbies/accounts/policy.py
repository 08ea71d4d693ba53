"""Who may do what with accounts, one condition per line. Channel rules live in chat/policy.py.

An *administrator* is a superuser, or an active staff member in the "Community administrators"
group (hobbies/accounts/roles.py); plain staff status alone grants nothing.
"""

from hobbies.accounts.models import User


def is_administrator(user) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_community_administrator


def can_review_registrations(actor: User) -> bool:
    return is_administrator(actor)


def can_change_active_state(actor: User, target: User) -> bool:
    """Administrators (de)activate members; only superusers (de)activate administrators; nobody themselves."""
    if not is_administrator(actor):
        return False
    if target.pk == actor.pk:
        return False
    if actor.is_superuser:
        return True
    return not (target.is_superuser or target.is_staff)


def can_grant_administrator(actor: User) -> bool:
    """Making and unmaking administrators is for superusers (and whoever runs manage.py)."""
    if not actor.is_authenticated:
        return False
    if not actor.is_active:
        return False
    return actor.is_superuser
