"""报名: apply from the notices, the institution accepts (register + enrol) or declines."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.models import Message
from certificates.services import level_assessment_record, level_certificate_issue, training_certificate_issue
from core import sms
from core.errors import ApplicationError, Conflict, NotPermitted
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from institutions.models import PlanStatus
from institutions.tests.factories import TrainingPlanFactory
from trainees.models import Application, ApplicationStatus, Enrolment, Trainee
from trainees.selectors import applications_visible_to
from trainees.services import (
    application_accept,
    application_decline,
    application_submit,
    enrolment_create,
    enrolment_record_completion,
    enrolment_record_hours,
    places_left,
)
from trainees.tests.factories import EnrolmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def open_class(institution):
    start = timezone.localdate() + datetime.timedelta(days=14)
    return TrainingPlanFactory(
        institution=institution, start_date=start, end_date=start + datetime.timedelta(days=40), class_size=2
    )


def applicant(hangzhou, n=1, **overrides):
    fields = {
        "resident_id": generate_resident_id(area="330106", birth="19950101", sequence=400 + n),
        "name": f"申请人{n}",
        "phone": f"1390000000{n}",
        "category": "professional",
        "household_city": hangzhou,
    }
    return {**fields, **overrides}


def test_an_application_waits_for_its_institution(open_class, hangzhou, institution_staff):
    application = application_submit(plan=open_class, **applicant(hangzhou))
    assert application.status == ApplicationStatus.PENDING
    assert list(applications_visible_to(institution_staff)) == [application]
    assert not Trainee.objects.filter(
        **blind_lookup(Trainee, "resident_id", application.resident_id)
    ).exists()


def test_applying_twice_for_the_same_class_is_refused(open_class, hangzhou):
    application_submit(plan=open_class, **applicant(hangzhou))
    with pytest.raises(Conflict) as exc:
        application_submit(plan=open_class, **applicant(hangzhou))
    assert exc.value.code == "already_applied"
    assert Application.objects.count() == 1


def test_a_wrong_resident_id_is_refused_beside_the_field(open_class, hangzhou):
    with pytest.raises(ApplicationError) as exc:
        application_submit(plan=open_class, **applicant(hangzhou, resident_id="330106199501010000"))
    assert exc.value.code == "invalid_application"
    assert "resident_id" in exc.value.detail
    assert not Application.objects.exists()


def test_a_graduate_must_give_school_city_and_year(open_class, hangzhou):
    with pytest.raises(ApplicationError) as exc:
        application_submit(plan=open_class, **applicant(hangzhou, category="graduate"))
    assert exc.value.code == "invalid_application"


def test_a_class_not_accepted_full_or_ended_takes_no_application(institution, hangzhou, open_class):
    draft = TrainingPlanFactory(institution=institution, status=PlanStatus.DRAFT)
    with pytest.raises(ApplicationError) as exc:
        application_submit(plan=draft, **applicant(hangzhou))
    assert exc.value.code == "plan_not_accepted"
    ended = TrainingPlanFactory(institution=institution)  # 2024 dates
    with pytest.raises(ApplicationError) as exc:
        application_submit(plan=ended, **applicant(hangzhou))
    assert exc.value.code == "class_ended"
    EnrolmentFactory.create_batch(2, plan=open_class)
    with pytest.raises(Conflict) as exc:
        application_submit(plan=open_class, **applicant(hangzhou))
    assert exc.value.code == "class_full"


def test_accepting_registers_a_new_person_enrols_them_and_tells_them_by_sms(
    open_class, hangzhou, institution_staff, django_capture_on_commit_callbacks
):
    application = application_submit(plan=open_class, **applicant(hangzhou))
    assert places_left(open_class) == 2
    with django_capture_on_commit_callbacks(execute=True):
        application = application_accept(application=application, actor=institution_staff)
    trainee = Trainee.objects.get(**blind_lookup(Trainee, "resident_id", application.resident_id))
    assert trainee.user_id is None  # the person activates an account themself
    assert application.status == ApplicationStatus.ACCEPTED
    assert application.enrolment == Enrolment.objects.get(plan=open_class, trainee=trainee)
    assert places_left(open_class) == 1
    assert [m.phone for m in sms.outbox] == [application.phone]
    assert "/activate/" in sms.outbox[0].text


def test_accepting_a_registered_trainee_enrols_them_and_writes_a_message(
    open_class, trainee, institution_staff, django_capture_on_commit_callbacks
):
    fields = applicant(trainee.household_city, resident_id=trainee.resident_id, name=trainee.name)
    application = application_submit(plan=open_class, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        application_accept(application=application, actor=institution_staff)
    assert Trainee.objects.filter(**blind_lookup(Trainee, "resident_id", trainee.resident_id)).count() == 1
    assert Enrolment.objects.filter(plan=open_class, trainee=trainee).exists()
    assert Message.objects.filter(recipient=trainee.user, kind="application").count() == 1


def test_a_registered_id_under_another_name_is_not_accepted(open_class, trainee, institution_staff):
    fields = applicant(trainee.household_city, resident_id=trainee.resident_id, name="冒名者")
    application = application_submit(plan=open_class, **fields)
    with pytest.raises(Conflict) as exc:
        application_accept(application=application, actor=institution_staff)
    assert exc.value.code == "identity_mismatch"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert not Enrolment.objects.filter(plan=open_class).exists()


def test_the_enrolment_checks_still_apply_when_accepting(open_class, hangzhou, institution_staff):
    application = application_submit(plan=open_class, **applicant(hangzhou))
    EnrolmentFactory.create_batch(2, plan=open_class)  # the class filled up meanwhile
    with pytest.raises(Conflict) as exc:
        application_accept(application=application, actor=institution_staff)
    assert exc.value.code == "class_full"
    assert not Trainee.objects.filter(
        **blind_lookup(Trainee, "resident_id", application.resident_id)
    ).exists()  # rolled back


def test_declining_needs_a_reason_and_tells_the_applicant(
    open_class, hangzhou, institution_staff, django_capture_on_commit_callbacks
):
    application = application_submit(plan=open_class, **applicant(hangzhou))
    with pytest.raises(ApplicationError) as exc:
        application_decline(application=application, actor=institution_staff, reason="  ")
    assert exc.value.code == "reason_required"
    with django_capture_on_commit_callbacks(execute=True):
        application_decline(application=application, actor=institution_staff, reason="名额已满，请报下一期")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DECLINED
    assert "名额已满" in sms.outbox[0].text
    with pytest.raises(Conflict) as exc:
        application_accept(application=application, actor=institution_staff)
    assert exc.value.code == "application_decided"


def test_only_the_institutions_own_staff_answer(open_class, hangzhou, hangzhou_reviewer, other_institution):
    from accounts.models import Role
    from accounts.tests.factories import UserFactory

    application = application_submit(plan=open_class, **applicant(hangzhou))
    other_clerk = UserFactory(role=Role.INSTITUTION, institution=other_institution)
    for actor in (hangzhou_reviewer, other_clerk):
        with pytest.raises(NotPermitted):
            application_accept(application=application, actor=actor)
    assert application in applications_visible_to(hangzhou_reviewer)
    assert application not in applications_visible_to(other_clerk)


def test_the_clerk_accepts_and_declines_in_the_admin(open_class, hangzhou, institution_staff, client_of):
    first = application_submit(plan=open_class, **applicant(hangzhou, 1))
    second = application_submit(plan=open_class, **applicant(hangzhou, 2))
    admin = client_of(institution_staff)
    url = "/admin/trainees/application/"
    listing = admin.get(url)
    assert listing.status_code == 200
    assert first.name in listing.content.decode()
    admin.post(url, {"action": "accept_selected", "_selected_action": [first.pk]})
    form = admin.post(url, {"action": "decline_selected", "_selected_action": [second.pk]})
    assert "reason" in form.content.decode()
    admin.post(
        url,
        {"action": "decline_selected", "_selected_action": [second.pk], "apply": "1", "reason": "不符合条件"},
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ApplicationStatus.ACCEPTED
    assert second.status == ApplicationStatus.DECLINED and second.decline_reason == "不符合条件"


def test_a_trainee_cannot_open_the_applications_admin(trainee_user, client_of):
    assert client_of(trainee_user).get("/admin/trainees/application/").status_code == 302


def test_a_trainee_with_a_login_is_told_of_enrolment_and_certificates(
    trainee, institution_staff, evaluation_staff
):
    plan = TrainingPlanFactory(
        institution=institution_staff.institution, evaluator=evaluation_staff.evaluator
    )
    enrolment = enrolment_create(plan=plan, trainee=trainee, actor=institution_staff)
    enrolment_record_hours(enrolment=enrolment, hours_online=40, hours_offline=40, actor=institution_staff)
    enrolment_record_completion(enrolment=enrolment, passed=True, on=plan.end_date, actor=institution_staff)
    training = training_certificate_issue(
        enrolment=enrolment, actor=institution_staff, issued_on=plan.end_date + datetime.timedelta(days=3)
    )
    assessment = level_assessment_record(
        training_certificate=training,
        evaluator=plan.evaluator,
        assessed_on=training.issued_on + datetime.timedelta(days=7),
        theory_score=80,
        theory_passed=True,
        practical_score=80,
        practical_passed=True,
        actor=evaluation_staff,
    )
    level = level_certificate_issue(
        assessment=assessment,
        actor=evaluation_staff,
        issued_on=assessment.assessed_on + datetime.timedelta(days=7),
    )
    messages = Message.objects.filter(recipient=trainee.user, kind="training").order_by("id")
    assert [m.subject_type for m in messages] == [
        "trainees.enrolment",
        "certificates.trainingcertificate",
        "certificates.levelcertificate",
    ]
    assert messages.last().link == f"/me/certificates/{level.pk}/"


def test_the_phone_must_be_a_mobile_number_the_answer_can_reach(open_class, hangzhou):
    with pytest.raises(ApplicationError) as exc:
        application_submit(plan=open_class, **applicant(hangzhou, phone="0571-8888"))
    assert set(exc.value.detail) == {"phone"}
    application = application_submit(plan=open_class, **applicant(hangzhou, phone="139 0000 0001"))
    assert application.phone == "13900000001"
