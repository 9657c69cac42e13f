"""Which roles may open the new pages: city measures and claim documents.

Scoping (own institution, own city) is applied to querysets; these permissions only let a
role open a page at all. Added to the groups of ``accounts`` migration 0003, never set, so
other apps' grants stay.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "provincial_staff": {"citymeasure": ["view", "add", "change"], "documentrequirement": ["view", "add", "change", "delete"], "claimdocument": ["view"]},
    # A reviewer edits its own city's measures (the admin scopes it to the city).
    "bureau_reviewer": {"citymeasure": ["view", "add", "change"], "documentrequirement": ["view", "add", "change", "delete"], "claimdocument": ["view"]},
}


def grant(apps, schema_editor):
    config = apps.get_app_config("subsidies")
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
                    Permission.objects.get(content_type__app_label="subsidies", codename=f"{action}_{model}")
                )


class Migration(migrations.Migration):
    dependencies = [
        ("subsidies", "0005_city_measures_and_claim_documents"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
