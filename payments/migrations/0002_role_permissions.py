"""The role groups' permissions on this app's models (see accounts/migrations/0003_role_groups.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW, ADD, CHANGE = "view", "add", "change"
APP = "payments"
ROLE_PERMISSIONS = {
    "provincial_staff": {"paymentbatch": [VIEW], "paymentitem": [VIEW]},
    "bureau_reviewer": {"paymentbatch": [VIEW, ADD, CHANGE], "paymentitem": [VIEW]},
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config(APP)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, models in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *[
                Permission.objects.get(content_type__app_label=APP, codename=f"{action}_{model}")
                for model, actions in models.items()
                for action in actions
            ]
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=ROLE_PERMISSIONS):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label=APP))


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial"), ("accounts", "0005_message")]

    operations = [migrations.RunPython(grant, revoke)]
