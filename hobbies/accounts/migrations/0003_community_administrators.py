"""The "Community administrators" group with exactly the permissions administrators need.

A frozen copy of hobbies/accounts/roles.py at the time of writing; `manage.py setup_roles` keeps
the group in step with the code afterwards.
"""

from django.db import migrations

GROUP = "Community administrators"
PERMISSIONS = (
    "accounts.view_user",
    "accounts.change_user",
    "accounts.view_loginevent",
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
    "chat.view_message",
    "chat.change_message",
    "chat.delete_message",
    "chat.view_messagerevision",
    "chat.view_attachment",
    "chat.view_report",
    "chat.change_report",
)


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after the whole migrate run; this migration needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    permissions = []
    for name in PERMISSIONS:
        app_label, codename = name.split(".")
        permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    group.permissions.set(permissions)


def delete_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_oidc_identity"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("chat", "0003_moderation_reports"),
    ]

    operations = [migrations.RunPython(create_group, delete_group)]
