"""Who may do what with accounts. Channel rules live in chat/policy.py."""

from hobbies.accounts.models import User


def can_review_registrations(actor: User) -> bool:
    return actor.is_active and actor.is_staff
