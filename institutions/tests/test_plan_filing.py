import datetime
from decimal import Decimal

import pytest
import time_machine

from accounts.models import Role
from accounts.tests.factories import UserFactory
from core.errors import ApplicationError, NotPermitted
from institutions.models import InstitutionListing, ListingStatus, PlanEvent, PlanStatus
from institutions.selectors import plans_visible_to, public_plans
from institutions.services import (
    PLAN_TRANSITIONS,
    plan_accept,
    plan_create,
    plan_file,
    plan_return,
    plan_update,
)
from institutions.tests.factories import (
    EvaluationInstitutionFactory,
    TrainingInstitutionFactory,
    TrainingPlanFactory,
)
from reference.tests.factories import OccupationFactory

TODAY = datetime.datetime(2024, 1, 2, 10, 0)


def plan_fields(evaluator, **overrides):
    fields = {
        "title": "2024年第1期人工智能初级班",
        "occupation": OccupationFactory(),
        "level": "junior",
        "start_date": datetime.date(2024, 1, 8),
        "end_date": datetime.date(2024, 3, 29),
        "hours_online": Decimal("40"),
        "hours_offline": Decimal("40"),
        "class_size": 30,
        "fee": Decimal("3000"),
        "evaluator": evaluator,
        "level_test_plan": "理论+实操，2024年4月",
    }
    fields.update(overrides)
    return fields


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield


def test_transition_table_lets_institution_file_and_authority_decide():
    assert PLAN_TRANSITIONS[PlanStatus.DRAFT] == {PlanStatus.FILED: "institution"}
    assert PLAN_TRANSITIONS[PlanStatus.FILED] == {
        PlanStatus.ACCEPTED: "authority",
        PlanStatus.RETURNED: "authority",
    }
    assert PLAN_TRANSITIONS[PlanStatus.RETURNED] == {PlanStatus.FILED: "institution"}
    assert PLAN_TRANSITIONS[PlanStatus.ACCEPTED] == {}


def test_plan_is_filed_with_city_bureau_accepted_and_every_step_logged(
    institution, institution_staff, evaluator, hangzhou_bureau, hangzhou_reviewer
):
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    assert plan.status == PlanStatus.DRAFT
    assert plan.filing_authority == hangzhou_bureau

    plan = plan_file(plan=plan, actor=institution_staff)
    assert plan.status == PlanStatus.FILED
    assert plan.filed_at is not None

    plan = plan_accept(plan=plan, actor=hangzhou_reviewer)
    assert plan.status == PlanStatus.ACCEPTED
    assert plan.decided_by == hangzhou_reviewer

    steps = list(PlanEvent.objects.filter(plan=plan).values_list("from_status", "to_status", "actor"))
    assert steps == [
        ("", "draft", institution_staff.pk),
        ("draft", "filed", institution_staff.pk),
        ("filed", "accepted", hangzhou_reviewer.pk),
    ]
    assert plan in public_plans()


def test_returned_plan_is_corrected_and_refiled(institution, institution_staff, evaluator, hangzhou_reviewer):
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    plan_file(plan=plan, actor=institution_staff)
    plan = plan_return(plan=plan, actor=hangzhou_reviewer, reason="课时安排不符合国家职业标准")
    assert plan.status == PlanStatus.RETURNED
    assert plan.return_reason == "课时安排不符合国家职业标准"
    assert plan not in public_plans()

    plan = plan_update(plan=plan, actor=institution_staff, hours_offline=Decimal("60"))
    plan = plan_file(plan=plan, actor=institution_staff)
    assert plan.status == PlanStatus.FILED
    assert plan.return_reason == ""
    assert PlanEvent.objects.filter(plan=plan, to_status="returned", reason__contains="课时").exists()


def test_return_without_reason_is_refused(institution, institution_staff, evaluator, hangzhou_reviewer):
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    plan_file(plan=plan, actor=institution_staff)
    with pytest.raises(ApplicationError) as exc:
        plan_return(plan=plan, actor=hangzhou_reviewer, reason="  ")
    assert exc.value.code == "reason_required"


def test_provincial_university_files_with_the_province(
    evaluator, provincial_staff, hangzhou_reviewer, hangzhou
):
    university = TrainingInstitutionFactory(
        city=hangzhou, is_provincial_university=True, name="杭州电子科技大学"
    )
    clerk = UserFactory(role=Role.INSTITUTION, institution=university)
    plan = plan_create(institution=university, actor=clerk, **plan_fields(evaluator))
    plan_file(plan=plan, actor=clerk)
    assert plan.filing_authority.is_province
    with pytest.raises(NotPermitted):
        plan_accept(plan=plan, actor=hangzhou_reviewer)
    assert plan_accept(plan=plan, actor=provincial_staff).status == PlanStatus.ACCEPTED


def test_unlisted_institution_cannot_file(hangzhou, hangzhou_bureau, evaluator):
    never_listed = TrainingInstitutionFactory(city=hangzhou, listed_since=False)
    clerk = UserFactory(role=Role.INSTITUTION, institution=never_listed)
    plan = plan_create(institution=never_listed, actor=clerk, **plan_fields(evaluator))
    with pytest.raises(ApplicationError) as exc:
        plan_file(plan=plan, actor=clerk)
    assert exc.value.code == "institution_not_listed"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


def test_suspended_institution_cannot_file(institution, institution_staff, evaluator):
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    InstitutionListing.objects.create(
        institution=institution, status=ListingStatus.SUSPENDED, effective_from=datetime.date(2023, 12, 1)
    )
    with pytest.raises(ApplicationError) as exc:
        plan_file(plan=plan, actor=institution_staff)
    assert exc.value.code == "institution_not_listed"
    assert exc.value.detail["status"] == "suspended"


def test_plan_naming_an_uncatalogued_evaluator_cannot_be_filed(institution, institution_staff, hangzhou):
    unlisted = EvaluationInstitutionFactory(city=hangzhou, listed_since=False)
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(unlisted))
    with pytest.raises(ApplicationError) as exc:
        plan_file(plan=plan, actor=institution_staff)
    assert exc.value.code == "evaluator_not_listed"


def test_other_institutions_staff_cannot_create_or_file(
    institution, other_institution, evaluator, institution_staff
):
    with pytest.raises(NotPermitted):
        plan_create(institution=other_institution, actor=institution_staff, **plan_fields(evaluator))
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    other_clerk = UserFactory(role=Role.INSTITUTION, institution=other_institution)
    with pytest.raises(NotPermitted):
        plan_file(plan=plan, actor=other_clerk)


def test_other_citys_reviewer_cannot_accept(institution, institution_staff, evaluator, ningbo_reviewer):
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    plan_file(plan=plan, actor=institution_staff)
    with pytest.raises(NotPermitted):
        plan_accept(plan=plan, actor=ningbo_reviewer)
    with pytest.raises(NotPermitted):
        plan_return(plan=plan, actor=institution_staff, reason="x")


def test_accepting_a_draft_or_an_accepted_plan_is_an_invalid_transition(
    institution, institution_staff, evaluator, hangzhou_reviewer
):
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    with pytest.raises(ApplicationError) as exc:
        plan_accept(plan=plan, actor=hangzhou_reviewer)
    assert exc.value.code == "invalid_transition"
    assert exc.value.status_code == 409
    plan_file(plan=plan, actor=institution_staff)
    plan_accept(plan=plan, actor=hangzhou_reviewer)
    with pytest.raises(ApplicationError) as exc:
        plan_file(plan=plan, actor=institution_staff)
    assert exc.value.code == "invalid_transition"


def test_filed_or_accepted_plan_cannot_be_updated(institution, institution_staff, evaluator):
    plan = plan_create(institution=institution, actor=institution_staff, **plan_fields(evaluator))
    plan_file(plan=plan, actor=institution_staff)
    with pytest.raises(ApplicationError) as exc:
        plan_update(plan=plan, actor=institution_staff, class_size=99)
    assert exc.value.code == "invalid_transition"


def test_plan_fields_are_validated_before_saving(institution, institution_staff, evaluator):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        plan_create(
            institution=institution,
            actor=institution_staff,
            **plan_fields(evaluator, end_date=datetime.date(2023, 1, 1)),
        )
    with pytest.raises(ApplicationError) as exc:
        plan_create(
            institution=institution, actor=institution_staff, status="accepted", **plan_fields(evaluator)
        )
    assert exc.value.code == "unknown_fields"


def test_plans_are_scoped_by_role(
    institution,
    other_institution,
    hangzhou_reviewer,
    ningbo_reviewer,
    institution_staff,
    provincial_staff,
    evaluation_staff,
    evaluator,
    trainee_user,
):
    ours = TrainingPlanFactory(institution=institution, evaluator=evaluator)
    theirs = TrainingPlanFactory(institution=other_institution)
    assert set(plans_visible_to(provincial_staff)) == {ours, theirs}
    assert set(plans_visible_to(hangzhou_reviewer)) == {ours}
    assert set(plans_visible_to(ningbo_reviewer)) == {theirs}
    assert set(plans_visible_to(institution_staff)) == {ours}
    assert set(plans_visible_to(evaluation_staff)) == {ours}
    assert list(plans_visible_to(trainee_user)) == []
