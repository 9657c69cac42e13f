"""The whole recorded path of one trainee, from plan filing to both certificates, and each
refusal on the way."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from accounts.models import Role
from accounts.tests.factories import UserFactory
from certificates.models import LevelCertificate, TrainingCertificate
from certificates.selectors import (
    level_certificates_visible_to,
    training_certificates_visible_to,
)
from certificates.services import (
    level_assessment_record,
    level_certificate_issue,
    training_certificate_issue,
)
from core.errors import ApplicationError, NotPermitted
from institutions.models import PlanStatus
from institutions.services import plan_accept, plan_create, plan_file
from institutions.tests.factories import TrainingPlanFactory
from reference.models import Level
from reference.tests.factories import OccupationFactory
from trainees.models import CompletionResult
from trainees.selectors import continuing_education_hours
from trainees.services import (
    enrolment_create,
    enrolment_record_completion,
    enrolment_record_hours,
)
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

START, END = datetime.date(2024, 1, 8), datetime.date(2024, 3, 29)


def filed_and_accepted_plan(institution, staff, reviewer, evaluator, **overrides):
    fields = {
        "title": "2024年第1期人工智能初级班",
        "occupation": OccupationFactory(),
        "level": "junior",
        "start_date": START,
        "end_date": END,
        "hours_online": Decimal("40"),
        "hours_offline": Decimal("40"),
        "class_size": 2,
        "fee": Decimal("3000"),
        "evaluator": evaluator,
    }
    fields.update(overrides)
    with time_machine.travel(datetime.datetime(2024, 1, 2, 9, 0), tick=False):
        plan = plan_create(institution=institution, actor=staff, **fields)
        plan_file(plan=plan, actor=staff)
        return plan_accept(plan=plan, actor=reviewer)


def test_one_trainee_walks_from_plan_filing_to_both_certificates(
    institution, institution_staff, hangzhou_reviewer, evaluator, evaluation_staff, trainee, trainee_user
):
    plan = filed_and_accepted_plan(institution, institution_staff, hangzhou_reviewer, evaluator)
    assert plan.status == PlanStatus.ACCEPTED

    enrolment = enrolment_create(plan=plan, trainee=trainee, actor=institution_staff)
    enrolment_record_hours(
        enrolment=enrolment, hours_online=Decimal("40"), hours_offline=Decimal("40"), actor=institution_staff
    )
    enrolment = enrolment_record_completion(enrolment=enrolment, passed=True, on=END, actor=institution_staff)
    assert enrolment.completion_result == CompletionResult.PASSED

    training = training_certificate_issue(
        enrolment=enrolment, actor=institution_staff, issued_on=datetime.date(2024, 4, 1)
    )
    assert training.number == f"PX2024{institution.pk:04d}000001"
    assert (training.trainee, training.plan, training.level) == (trainee, plan, "junior")

    assessment = level_assessment_record(
        training_certificate=training,
        evaluator=evaluator,
        assessed_on=datetime.date(2024, 4, 20),
        theory_score=Decimal("81"),
        theory_passed=True,
        practical_score=Decimal("75"),
        practical_passed=True,
        actor=evaluation_staff,
    )
    level = level_certificate_issue(
        assessment=assessment, actor=evaluation_staff, issued_on=datetime.date(2024, 5, 10)
    )
    assert level.number == f"DJ2024{evaluator.pk:04d}000001"
    assert (level.trainee, level.occupation, level.level) == (trainee, plan.occupation, "junior")
    assert level.title_equivalence == Level.title_equivalence("junior")

    # 计入当年度继续教育专业课学时: the class ended in 2024.
    assert continuing_education_hours(trainee=trainee, year=2024) == Decimal("80")
    assert continuing_education_hours(trainee=trainee, year=2023) == Decimal("0")
    # The trainee sees their own certificates.
    assert list(training_certificates_visible_to(trainee_user)) == [training]
    assert list(level_certificates_visible_to(trainee_user)) == [level]


def test_title_equivalence_follows_the_level():
    """职称贯通: 初级 -> 助理工程师, 中级 -> 工程师, 高级 -> 可申报高级工程师."""
    with translation.override("zh-hans"):
        junior, intermediate, senior = (
            str(Level.title_equivalence(v)) for v in ("junior", "intermediate", "senior")
        )
    assert "助理工程师" in junior
    assert "工程师" in intermediate and "助理" not in intermediate and "高级" not in intermediate
    assert "高级工程师" in senior


def test_unaccepted_plan_does_not_enrol(institution, institution_staff, trainee):
    plan = TrainingPlanFactory(institution=institution, status=PlanStatus.FILED)
    with pytest.raises(ApplicationError) as exc:
        enrolment_create(plan=plan, trainee=trainee, actor=institution_staff)
    assert exc.value.code == "plan_not_accepted"


def test_trainee_cannot_sit_in_two_classes_whose_dates_overlap(institution, institution_staff, trainee):
    first = TrainingPlanFactory(institution=institution, start_date=START, end_date=END)
    overlapping = TrainingPlanFactory(
        institution=institution, start_date=END, end_date=END + datetime.timedelta(30)
    )
    after = TrainingPlanFactory(
        institution=institution, start_date=END + datetime.timedelta(1), end_date=END + datetime.timedelta(30)
    )
    enrolment_create(plan=first, trainee=trainee, actor=institution_staff)
    with pytest.raises(ApplicationError) as exc:
        enrolment_create(plan=overlapping, trainee=trainee, actor=institution_staff)
    assert exc.value.code == "overlapping_class"
    assert enrolment_create(plan=after, trainee=trainee, actor=institution_staff).plan == after


def test_overlap_counts_classes_of_other_institutions(
    institution, other_institution, institution_staff, trainee
):
    EnrolmentFactory(plan=TrainingPlanFactory(institution=other_institution), trainee=trainee)
    with pytest.raises(ApplicationError) as exc:
        enrolment_create(
            plan=TrainingPlanFactory(institution=institution), trainee=trainee, actor=institution_staff
        )
    assert exc.value.code == "overlapping_class"


def test_full_class_refuses_one_more(institution, institution_staff):
    plan = TrainingPlanFactory(institution=institution, class_size=1)
    enrolment_create(plan=plan, trainee=TraineeFactory(), actor=institution_staff)
    with pytest.raises(ApplicationError) as exc:
        enrolment_create(plan=plan, trainee=TraineeFactory(), actor=institution_staff)
    assert exc.value.code == "class_full"


def test_enrolling_twice_is_refused(institution, institution_staff, trainee):
    plan = TrainingPlanFactory(institution=institution)
    enrolment_create(plan=plan, trainee=trainee, actor=institution_staff)
    with pytest.raises(ApplicationError) as exc:
        enrolment_create(plan=plan, trainee=trainee, actor=institution_staff)
    assert exc.value.code == "already_enrolled"


def test_another_institution_cannot_enrol_into_or_record_for_our_class(
    institution, other_institution, trainee
):
    plan = TrainingPlanFactory(institution=institution)
    intruder = UserFactory(role=Role.INSTITUTION, institution=other_institution)
    with pytest.raises(NotPermitted):
        enrolment_create(plan=plan, trainee=trainee, actor=intruder)
    enrolment = EnrolmentFactory(plan=plan)
    with pytest.raises(NotPermitted):
        enrolment_record_hours(enrolment=enrolment, hours_online=1, hours_offline=1, actor=intruder)
    with pytest.raises(NotPermitted):
        training_certificate_issue(enrolment=enrolment, actor=intruder)


def test_hours_above_the_plan_are_refused(institution, institution_staff):
    enrolment = EnrolmentFactory(
        plan=TrainingPlanFactory(institution=institution), hours_online=0, hours_offline=0
    )
    with pytest.raises(ApplicationError) as exc:
        enrolment_record_hours(
            enrolment=enrolment,
            hours_online=Decimal("41"),
            hours_offline=Decimal("0"),
            actor=institution_staff,
        )
    assert exc.value.code == "hours_exceed_plan"


def test_too_few_hours_get_no_training_certificate(institution, institution_staff):
    enrolment = EnrolmentFactory(
        plan=TrainingPlanFactory(institution=institution), hours_offline=Decimal("39.5")
    )
    with pytest.raises(ApplicationError) as exc:
        training_certificate_issue(enrolment=enrolment, actor=institution_staff, issued_on=END)
    assert exc.value.code == "hours_incomplete"
    assert not TrainingCertificate.objects.exists()


def test_failed_completion_test_gets_no_training_certificate(institution, institution_staff):
    enrolment = EnrolmentFactory(plan=TrainingPlanFactory(institution=institution))
    enrolment_record_completion(enrolment=enrolment, passed=False, on=END, actor=institution_staff)
    with pytest.raises(ApplicationError) as exc:
        training_certificate_issue(enrolment=enrolment, actor=institution_staff, issued_on=END)
    assert exc.value.code == "completion_not_passed"
    untested = EnrolmentFactory(
        plan=enrolment.plan, completion_result=CompletionResult.PENDING, completion_date=None
    )
    with pytest.raises(ApplicationError) as exc:
        training_certificate_issue(enrolment=untested, actor=institution_staff, issued_on=END)
    assert exc.value.code == "completion_not_passed"


def test_training_certificate_is_issued_once_and_numbers_follow_each_other(institution, institution_staff):
    plan = TrainingPlanFactory(institution=institution)
    first, second = EnrolmentFactory(plan=plan), EnrolmentFactory(plan=plan)
    a = training_certificate_issue(enrolment=first, actor=institution_staff, issued_on=END)
    b = training_certificate_issue(enrolment=second, actor=institution_staff, issued_on=END)
    assert (a.number[-6:], b.number[-6:]) == ("000001", "000002")
    with pytest.raises(ApplicationError) as exc:
        training_certificate_issue(enrolment=first, actor=institution_staff, issued_on=END)
    assert exc.value.code == "certificate_exists"
    # Once certified, the enrolment's record is final.
    with pytest.raises(ApplicationError) as exc:
        enrolment_record_completion(enrolment=first, passed=False, on=END, actor=institution_staff)
    assert exc.value.code == "certificate_exists"


@pytest.fixture
def training_certificate(institution, institution_staff, evaluator):
    enrolment = EnrolmentFactory(plan=TrainingPlanFactory(institution=institution, evaluator=evaluator))
    return training_certificate_issue(enrolment=enrolment, actor=institution_staff, issued_on=END)


@pytest.mark.parametrize(
    ("theory_passed", "practical_passed", "failed"),
    [(False, True, ["theory"]), (True, False, ["practical"]), (False, False, ["theory", "practical"])],
)
def test_one_failed_part_of_the_level_test_gets_no_level_certificate(
    training_certificate, evaluator, evaluation_staff, theory_passed, practical_passed, failed
):
    assessment = level_assessment_record(
        training_certificate=training_certificate,
        evaluator=evaluator,
        assessed_on=END + datetime.timedelta(20),
        theory_score=Decimal("90") if theory_passed else Decimal("40"),
        theory_passed=theory_passed,
        practical_score=Decimal("90") if practical_passed else Decimal("30"),
        practical_passed=practical_passed,
        actor=evaluation_staff,
    )
    with pytest.raises(ApplicationError) as exc:
        level_certificate_issue(assessment=assessment, actor=evaluation_staff)
    assert exc.value.code == "level_test_not_passed"
    assert exc.value.detail == {"failed": failed}
    assert not LevelCertificate.objects.exists()


def test_level_certificate_is_not_issued_twice(training_certificate, evaluator, evaluation_staff):
    assessment = level_assessment_record(
        training_certificate=training_certificate,
        evaluator=evaluator,
        assessed_on=END + datetime.timedelta(20),
        theory_score=Decimal("90"),
        theory_passed=True,
        practical_score=Decimal("90"),
        practical_passed=True,
        actor=evaluation_staff,
    )
    level_certificate_issue(
        assessment=assessment, actor=evaluation_staff, issued_on=END + datetime.timedelta(30)
    )
    with pytest.raises(ApplicationError) as exc:
        level_certificate_issue(
            assessment=assessment, actor=evaluation_staff, issued_on=END + datetime.timedelta(30)
        )
    assert exc.value.code == "certificate_exists"


def test_evaluator_not_named_by_the_plan_cannot_test_the_candidate(training_certificate, hangzhou):
    from institutions.tests.factories import EvaluationInstitutionFactory

    stranger = EvaluationInstitutionFactory(city=hangzhou)
    clerk = UserFactory(role=Role.EVALUATOR, evaluator=stranger)
    with pytest.raises(NotPermitted) as exc:
        level_assessment_record(
            training_certificate=training_certificate,
            evaluator=stranger,
            assessed_on=END + datetime.timedelta(20),
            theory_score=None,
            theory_passed=True,
            practical_score=None,
            practical_passed=True,
            actor=clerk,
        )
    assert exc.value.code == "not_a_candidate"


def test_institution_staff_see_only_their_own_certificates(
    training_certificate, other_institution, institution_staff
):
    other = UserFactory(role=Role.INSTITUTION, institution=other_institution)
    assert list(training_certificates_visible_to(institution_staff)) == [training_certificate]
    assert list(training_certificates_visible_to(other)) == []
