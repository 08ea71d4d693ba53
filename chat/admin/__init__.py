"""Django admin for the chat, on two sites (chat/admin/sites.py):

- /admin/ (django.contrib.admin.site): administrators, with the model permissions of the
  Community administrators group (hobbies/accounts/roles.py); superusers have them all.
- /moderation/ (moderation_site): channel moderators who are not staff, each limited to the
  channels they moderate.

The same ModelAdmins serve both (chat/admin/base.py): rows limited to the person's channels, every
write through chat/services (which asks chat/policy.py), every action in the admin log.

    sites      the moderation site
    base       scoping, permissions, service-backed forms, actions, list filters
    forms      user names, the ban form
    channels   channels, sub-channels
    members    memberships, bans
    messages   messages (with their edit history), attachments
    reports    the report queue
"""

from chat.admin import channels, members, messages, reports  # noqa: F401  (registers the ModelAdmins)
from chat.admin.sites import moderation_site

__all__ = ["moderation_site"]
