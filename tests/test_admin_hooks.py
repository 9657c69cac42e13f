"""Admin hooks: an app on a higher floor adds its action or import to a lower app's admin page,
so the lower app never imports it (ARCHITECTURE.md)."""

import pytest
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.urls import reverse

from accounts.models import User
from core.admin import ActionHooksMixin
from institutions.admin import TrainingPlanAdmin
from institutions.models import PlanStatus
from institutions.tests.factories import TrainingPlanFactory
from subsidies.models import SubsidyClaim
from trainees.models import Enrolment

pytestmark = pytest.mark.django_db


def _actions(model, user, rf, **get):
    request = rf.get("/", get)
    request.user = user
    return set(admin.site.get_model_admin(model).get_actions(request))


def test_the_reports_and_payments_apps_add_their_actions_to_the_claims_admin(rf, hangzhou_reviewer):
    assert _actions(SubsidyClaim, hangzhou_reviewer, rf) == {
        "approve_selected",
        "reject_selected",
        "mark_paid_selected",
        "request_claims_report",  # reports/admin.py
        "export_list",  # reports/admin.py
        "put_into_batch",  # payments/admin_hooks.py
        "refresh_payee_account",  # payments/admin_hooks.py
    }


def test_the_certificate_action_is_offered_to_institution_staff_only(
    rf, institution_staff, hangzhou_reviewer, provincial_staff
):
    assert "issue_training_certificates" in _actions(Enrolment, institution_staff, rf)
    assert "issue_training_certificates" not in _actions(Enrolment, hangzhou_reviewer, rf)
    assert "issue_training_certificates" not in _actions(Enrolment, provincial_staff, rf)


def test_a_popup_list_has_no_hooked_actions(rf, hangzhou_reviewer):
    assert _actions(SubsidyClaim, hangzhou_reviewer, rf, _popup="1") == set()


def test_a_hook_is_added_once_and_only_to_its_own_admin(rf):
    class First(ActionHooksMixin, admin.ModelAdmin):
        pass

    class Second(ActionHooksMixin, admin.ModelAdmin):
        pass

    def shout(modeladmin, request, queryset):
        """Shout"""

    First.add_action(shout)
    First.add_action(shout)  # a module loaded twice
    First.add_action(lambda m, r, q: None, allowed=lambda request: False)
    request = rf.get("/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    site = AdminSite()
    first = First(User, site).get_actions(request)
    assert [name for name in first if name != "delete_selected"] == ["shout"]
    assert "shout" not in Second(User, site).get_actions(request)


def test_the_plan_page_links_the_imports_the_trainees_app_added(client_of, institution_staff, institution):
    plan = TrainingPlanFactory(institution=institution, status=PlanStatus.ACCEPTED)
    page = client_of(institution_staff).get(reverse("admin:institutions_trainingplan_change", args=[plan.pk]))
    for kind in ("roster", "hours"):
        assert reverse("admin:institutions_trainingplan_import", args=[plan.pk, kind]) in page.text
    assert set(TrainingPlanAdmin._plan_imports) == {"roster", "hours"}


def test_an_import_nobody_added_is_not_found(client_of, institution_staff, institution):
    plan = TrainingPlanFactory(institution=institution, status=PlanStatus.ACCEPTED)
    client = client_of(institution_staff)
    assert (
        client.get(reverse("admin:institutions_trainingplan_import", args=[plan.pk, "levels"])).status_code
        == 404
    )
    assert client.get(reverse("admin:institutions_trainingplan_template", args=["levels"])).status_code == 404
