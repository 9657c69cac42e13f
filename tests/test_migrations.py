import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import ROLE_GROUPS

PROJECT_APPS = ("accounts", "reference", "institutions", "trainees", "certificates", "subsidies", "reports")


@pytest.mark.django_db
def test_models_and_migrations_agree():
    # Exits with status 1 (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_every_role_has_its_group_after_migrating():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_GROUPS.values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "group, allowed, refused",
    [
        (
            "provincial_staff",
            ["reference.change_occupation", "accounts.change_user"],
            ["subsidies.delete_subsidyclaim"],
        ),
        (
            "bureau_reviewer",
            ["subsidies.change_subsidyclaim", "reference.view_city"],
            ["reference.change_city"],
        ),
        ("institution_staff", ["institutions.add_trainingplan"], ["subsidies.view_subsidyclaim"]),
        ("evaluation_staff", ["certificates.add_levelcertificate"], ["certificates.add_trainingcertificate"]),
        ("trainee", [], ["subsidies.view_subsidyclaim"]),
    ],
)
def test_role_groups_carry_their_permissions(group, allowed, refused):
    granted = {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=group).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }
    assert set(allowed) <= granted
    assert not set(refused) & granted


def test_every_model_of_the_domain_is_in_the_admin():
    """Registered, or shown inline on its parent's page (an event log on its claim)."""
    inline_models = {
        inline.model for model_admin in admin.site._registry.values() for inline in model_admin.inlines
    }
    missing = [
        model._meta.label
        for app_label in PROJECT_APPS
        for model in apps.get_app_config(app_label).get_models()
        if not admin.site.is_registered(model) and model not in inline_models
    ]
    assert missing == []
