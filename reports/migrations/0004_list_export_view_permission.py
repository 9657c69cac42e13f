"""Institution and evaluation staff may open the report list, to download their list exports
(they see only their own: reports.selectors.report_jobs_visible_to)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ("institution_staff", "evaluation_staff")


def grant(apps, schema_editor):
    app_config = apps.get_app_config("reports")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="reports", codename="view_reportjob").first()
    if view is None:
        return
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="reports", codename="view_reportjob").first()
    if view is None:
        return
    for group in Group.objects.filter(name__in=GROUPS):
        group.permissions.remove(view)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_list_exports_pdf_heartbeat"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
