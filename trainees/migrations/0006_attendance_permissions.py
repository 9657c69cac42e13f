"""Which roles may open the new pages: sessions, attendance and evaluations.

Scoping (own institution, own city) is applied to querysets; these permissions only let a
role open a page at all. Added to the groups of ``accounts`` migration 0003, never set, so
other apps' grants stay.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "provincial_staff": {"classsession": ["view"], "attendance": ["view"], "classevaluation": ["view"]},
    "bureau_reviewer": {"classsession": ["view"], "attendance": ["view"], "classevaluation": ["view"]},
    "institution_staff": {
        "classsession": ["view", "add"],
        "attendance": ["view", "add"],
        "classevaluation": ["view"],
    },
}


def grant(apps, schema_editor):
    config = apps.get_app_config("trainees")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, models in GRANTS.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        for model, actions in models.items():
            for action in actions:
                group.permissions.add(
                    Permission.objects.get(content_type__app_label="trainees", codename=f"{action}_{model}")
                )


class Migration(migrations.Migration):
    dependencies = [
        ("trainees", "0005_attendance_guards_and_opening_totals"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
