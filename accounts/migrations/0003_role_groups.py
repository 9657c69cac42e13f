"""The five roles' groups and their model permissions (SPEC.md, "Who uses it").

Object scoping (own city, own institution) is not a permission: the admin and API apply it
to querysets. These permissions decide which admin pages a role may open at all.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW, ADD, CHANGE = "view", "add", "change"

ROLE_PERMISSIONS = {
    "provincial_staff": {
        "reference": {"city": [VIEW, ADD, CHANGE], "bureau": [VIEW, ADD, CHANGE],
                      "occupation": [VIEW, ADD, CHANGE], "direction": [VIEW, ADD, CHANGE]},
        "institutions": {"traininginstitution": [VIEW, ADD, CHANGE], "institutionlisting": [VIEW, ADD],
                         "evaluationinstitution": [VIEW, ADD, CHANGE], "evaluatorlisting": [VIEW, ADD],
                         "trainingplan": [VIEW, CHANGE], "planevent": [VIEW]},
        "trainees": {"trainee": [VIEW], "enrolment": [VIEW]},
        "certificates": {"trainingcertificate": [VIEW], "levelassessment": [VIEW], "levelcertificate": [VIEW]},
        "subsidies": {"policysettings": [VIEW, CHANGE], "subsidystandard": [VIEW, ADD, CHANGE],
                      "subsidyclaim": [VIEW, CHANGE], "claimevent": [VIEW],
                      "externalsubsidyrecord": [VIEW, ADD]},
        "reports": {"reportjob": [VIEW, ADD]},
    },
    "bureau_reviewer": {
        "reference": {"city": [VIEW], "bureau": [VIEW], "occupation": [VIEW], "direction": [VIEW]},
        "institutions": {"traininginstitution": [VIEW], "institutionlisting": [VIEW],
                         "evaluationinstitution": [VIEW], "evaluatorlisting": [VIEW],
                         "trainingplan": [VIEW, CHANGE], "planevent": [VIEW]},
        "trainees": {"trainee": [VIEW], "enrolment": [VIEW]},
        "certificates": {"trainingcertificate": [VIEW], "levelassessment": [VIEW], "levelcertificate": [VIEW]},
        "subsidies": {"subsidystandard": [VIEW], "subsidyclaim": [VIEW, CHANGE], "claimevent": [VIEW],
                      "externalsubsidyrecord": [VIEW, ADD]},
        "reports": {"reportjob": [VIEW, ADD]},
    },
    "institution_staff": {
        "reference": {"occupation": [VIEW], "direction": [VIEW]},
        "institutions": {"trainingplan": [VIEW, ADD, CHANGE], "planevent": [VIEW]},
        "trainees": {"trainee": [VIEW, ADD, CHANGE], "enrolment": [VIEW, ADD, CHANGE]},
        "certificates": {"trainingcertificate": [VIEW, ADD]},
    },
    "evaluation_staff": {
        "reference": {"occupation": [VIEW]},
        "certificates": {"levelassessment": [VIEW, ADD, CHANGE], "levelcertificate": [VIEW, ADD],
                         "trainingcertificate": [VIEW]},
    },
    "trainee": {},
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, by_app in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        codenames = [
            (app_label, f"{action}_{model}")
            for app_label, models in by_app.items()
            for model, actions in models.items()
            for action in actions
        ]
        perms = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in codenames
        ]
        group.permissions.set(perms)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("reference", "0001_initial"),
        ("institutions", "0001_initial"),
        ("trainees", "0001_initial"),
        ("certificates", "0001_initial"),
        ("subsidies", "0001_initial"),
        ("reports", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
