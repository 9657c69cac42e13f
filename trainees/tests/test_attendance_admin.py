"""The institution's attendance pages and the evaluation averages in the admin."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import UserFactory
from institutions.tests.factories import TrainingPlanFactory
from trainees.models import Attendance, ClassEvaluation, Enrolment
from trainees.services import attendance_record, evaluation_submit, session_create
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(institution, evaluator):
    return TrainingPlanFactory(
        institution=institution, evaluator=evaluator, hours_online=Decimal("1"), hours_offline=Decimal("0")
    )


@pytest.fixture
def session(plan, institution_staff):
    return session_create(
        plan=plan,
        date=datetime.date(2024, 1, 10),
        starts_at=datetime.time(9),
        ends_at=datetime.time(10),
        mode="online",
        topic="导论",
        venue="平台",
        actor=institution_staff,
    )


@pytest.fixture
def enrolment(plan, trainee):
    return EnrolmentFactory(
        plan=plan,
        trainee=trainee,
        hours_online=0,
        hours_offline=0,
        completion_result="pending",
        completion_date=None,
    )


def test_a_clerk_imports_a_learning_log_from_the_admin_and_the_hours_change(
    client_of, institution_staff, plan, session, enrolment, trainee
):
    client = client_of(institution_staff)
    listing = client.get(
        reverse("admin:trainees_attendance_changelist") + f"?enrolment__plan__id__exact={plan.pk}"
    )
    import_url = reverse("admin:trainees_attendance_import", args=[plan.pk])
    assert import_url in listing.content.decode()
    csv = f"身份证号码,姓名,课次日期,开始时间,学习时长（分钟）\r\n{trainee.resident_id},{trainee.name},2024-01-10,09:00,60\r\n"
    response = client.post(import_url, {"file": SimpleUploadedFile("log.csv", csv.encode("utf-8-sig"))})
    assert response.status_code == 200, response.content.decode()[:3000]
    assert Enrolment.objects.get(pk=enrolment.pk).hours_online == Decimal("1.0")
    bad = client.post(import_url, {"file": SimpleUploadedFile("log.csv", csv.replace("60", "600").encode())})
    assert bad.status_code == 400 and "import-errors" in bad.content.decode()


def test_another_institution_cannot_import_into_the_class(client_of, other_institution, plan):
    stranger = UserFactory(role="institution", institution=other_institution)
    assert (
        client_of(stranger).get(reverse("admin:trainees_attendance_import", args=[plan.pk])).status_code
        == 404
    )


def test_a_correction_from_the_admin_keeps_the_original(client_of, institution_staff, session, enrolment):
    record = attendance_record(enrolment=enrolment, session=session, minutes=30, actor=institution_staff)
    client = client_of(institution_staff)
    page = client.get(reverse("admin:trainees_attendance_change", args=[record.pk])).content.decode()
    correct_url = reverse("admin:trainees_attendance_correct", args=[record.pk])
    assert correct_url in page
    refused = client.post(correct_url, {"minutes": "60", "reason": ""})
    assert refused.status_code == 200 and Attendance.objects.count() == 1
    response = client.post(correct_url, {"minutes": "60", "reason": "补录签退"})
    assert response.status_code == 302
    correction = Attendance.objects.get(corrects=record)
    assert (correction.minutes, correction.reason, Attendance.objects.get(pk=record.pk).minutes) == (
        60,
        "补录签退",
        30,
    )
    history = client.get(reverse("admin:trainees_attendance_change", args=[correction.pk])).content.decode()
    assert "补录签退" in history
    assert client.post(reverse("admin:trainees_attendance_change", args=[record.pk]), {}).status_code == 403


def test_the_bureau_sees_evaluation_averages_on_the_institution_page_and_the_list(
    client_of, hangzhou_reviewer, institution, plan, institution_staff
):
    for scores in ((5, 4, 3), (3, 4, 5)):
        user = UserFactory(role="trainee")
        enrolment = EnrolmentFactory(plan=plan, trainee=TraineeFactory(user=user))
        evaluation_submit(
            enrolment=enrolment,
            content=scores[0],
            teaching=scores[1],
            organisation=scores[2],
            comment="好",
            actor=user,
        )
    assert ClassEvaluation.objects.count() == 2
    client = client_of(hangzhou_reviewer)
    page = client.get(
        reverse("admin:institutions_traininginstitution_change", args=[institution.pk])
    ).content.decode()
    assert 'id="evaluation-panel"' in page and plan.title in page and "4.00" in page
    listing = client.get(reverse("admin:trainees_classevaluation_changelist")).content.decode()
    assert "4.00" in listing and plan.title in listing


def test_a_clerk_imports_the_classs_sessions_and_a_changed_session_is_refused(
    client_of, institution_staff, plan
):
    from trainees.models import ClassSession

    client = client_of(institution_staff)
    listing = client.get(reverse("admin:trainees_classsession_changelist") + f"?plan__id__exact={plan.pk}")
    url = reverse("admin:trainees_classsession_import", args=[plan.pk])
    assert url in listing.content.decode()
    csv = "日期,开始时间,结束时间,形式,主题,地点或平台\r\n2024-01-15,09:00,12:00,线下,实训一,201教室\r\n2024-01-16,19:00,21:00,线上,直播一,学习平台\r\n"
    assert client.post(url, {"file": SimpleUploadedFile("课次.csv", csv.encode())}).status_code == 200
    assert ClassSession.objects.filter(plan=plan).count() == 2
    again = client.post(url, {"file": SimpleUploadedFile("课次.csv", csv.encode())})
    assert again.status_code == 200 and ClassSession.objects.filter(plan=plan).count() == 2
    changed = csv.replace("实训一", "实训改") + "2024-05-01,09:00,08:00,线下,错,教室\r\n"
    refused = client.post(url, {"file": SimpleUploadedFile("课次.csv", changed.encode())})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert (
        page.count("<tr><td>") >= 3
    )  # the changed session, the date outside the class, the end before the start
    assert ClassSession.objects.get(plan=plan, date=datetime.date(2024, 1, 15)).topic == "实训一"


def test_a_session_that_ends_before_it_starts_is_refused_on_its_field(client_of, institution_staff, plan):
    from trainees.models import ClassSession

    response = client_of(institution_staff).post(
        reverse("admin:trainees_classsession_add"),
        {
            "plan": plan.pk,
            "date": "2024-01-10",
            "starts_at": "10:00",
            "ends_at": "09:00",
            "mode": "offline",
            "topic": "实训",
            "venue": "201教室",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and not ClassSession.objects.exists()
    assert "trainees_classsession" not in page and 'class="errorlist' in page
