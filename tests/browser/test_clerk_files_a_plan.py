"""An institution clerk writes a training plan in the admin and files it with the city bureau."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from institutions.models import PlanStatus, TrainingPlan
from reference.tests.factories import OccupationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PLANS = "/admin/institutions/trainingplan/"
TITLE = "2026年第3期人工智能训练师初级班"


def test_an_institution_clerk_files_a_plan_and_the_bureau_receives_it(
    institution_staff, evaluator, hangzhou_bureau, hangzhou_reviewer, journey
):
    occupation = OccupationFactory()
    page = journey.page
    start = datetime.date.today() + datetime.timedelta(days=30)

    journey.log_in(institution_staff.username)
    page.click(f'a[href="{PLANS}add/"]')
    page.wait_for_url(re.compile(rf"{PLANS}add/$"))
    page.fill("input[name=title]", TITLE)
    page.select_option("select[name=occupation]", str(occupation.pk))
    page.select_option("select[name=level]", "junior")
    page.fill("input[name=start_date]", start.isoformat())
    page.fill("input[name=end_date]", (start + datetime.timedelta(days=60)).isoformat())
    page.fill("input[name=hours_online]", "40")
    page.fill("input[name=hours_offline]", "48")
    page.fill("input[name=class_size]", "45")
    page.fill("input[name=fee]", "2800")
    page.select_option("select[name=evaluator]", str(evaluator.pk))
    page.fill("textarea[name=level_test_plan]", "结业后两周内由评价机构组织理论与实操考核")
    journey.step("plan-form")
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(rf"{PLANS}(\?.*)?$"))
    journey.step("plan-saved")

    plan = TrainingPlan.objects.get(title=TITLE)
    assert (plan.status, plan.institution_id) == (PlanStatus.DRAFT, institution_staff.institution_id)

    page.check(f'#result_list input[name=_selected_action][value="{plan.pk}"]')
    page.select_option("#changelist-form select[name=action]", "file_selected")
    page.click("#changelist-form button[name=index]")
    page.wait_for_load_state()
    journey.step("plan-filed")
    expect(page.locator("ul.messagelist li.success")).to_be_visible()
    plan.refresh_from_db()
    assert (plan.status, plan.filing_authority_id) == (PlanStatus.FILED, hangzhou_bureau.pk)

    # The Hangzhou bureau finds it among the plans awaiting acceptance.
    journey.log_in(hangzhou_reviewer.username)
    journey.goto(f"{PLANS}?status__exact=filed", "bureau-plans")
    expect(page.locator(f'#result_list input[name=_selected_action][value="{plan.pk}"]')).to_have_count(1)
