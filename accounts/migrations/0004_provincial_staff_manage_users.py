"""Provincial staff manage users (SPEC.md: they keep the catalogues and the people in them).

The admin also checks the role, so the permission alone does not let another role in.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_user", "add_user", "change_user"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.get(name="provincial_staff")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="provincial_staff").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="accounts", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_role_groups")]

    operations = [migrations.RunPython(grant, revoke)]
