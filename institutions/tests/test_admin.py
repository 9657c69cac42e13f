"""The admin for each role: scoping, plan creation and filing, decisions, imports."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import UserFactory
from certificates.tests.factories import LevelAssessmentFactory, TrainingCertificateFactory
from core.pii_fields import blind_lookup
from institutions.models import PlanStatus, TrainingPlan
from institutions.tests.factories import TrainingPlanFactory
from reference.tests.factories import OccupationFactory
from trainees.models import Enrolment, Trainee
from trainees.tests.factories import EnrolmentFactory, TraineeFactory
from trainees.tests.xlsx import xlsx_bytes


@pytest.fixture
def ours(institution, evaluator):
    return TrainingPlanFactory(institution=institution, evaluator=evaluator, title="我们的班")


@pytest.fixture
def theirs(other_institution):
    return TrainingPlanFactory(institution=other_institution, title="别人的班")


def test_institution_staff_see_only_their_own_plans_and_trainees(client_of, institution_staff, ours, theirs):
    mine = EnrolmentFactory(plan=ours, trainee=TraineeFactory(name="我们的学员"))
    EnrolmentFactory(plan=theirs, trainee=TraineeFactory(name="别人的学员"))
    client = client_of(institution_staff)

    page = client.get(reverse("admin:institutions_trainingplan_changelist"))
    assert page.status_code == 200
    assert "我们的班" in page.text and "别人的班" not in page.text
    assert client.get(reverse("admin:institutions_trainingplan_change", args=[theirs.pk])).status_code == 302

    page = client.get(reverse("admin:trainees_trainee_changelist"))
    assert "我们的学员" in page.text and "别人的学员" not in page.text
    assert mine.trainee.resident_id not in page.text  # masked in lists
    assert mine.trainee.masked_resident_id in page.text

    page = client.get(reverse("admin:trainees_enrolment_changelist"))
    assert "我们的学员" in page.text and "别人的学员" not in page.text


def test_other_institutions_plan_is_not_found_by_url(client_of, institution_staff, theirs):
    response = client_of(institution_staff).get(
        reverse("admin:institutions_trainingplan_change", args=[theirs.pk]), follow=True
    )
    # The admin redirects to its index with "does not exist" for a row outside the queryset.
    assert "别人的班" not in response.text


@time_machine.travel(datetime.datetime(2024, 1, 2, 10, 0), tick=False)
def test_institution_staff_create_a_plan_for_their_own_institution_and_file_it(
    client_of, institution_staff, institution, other_institution, evaluator
):
    client = client_of(institution_staff)
    occupation = OccupationFactory()
    response = client.post(
        reverse("admin:institutions_trainingplan_add"),
        {
            "title": "2024年第2期",
            "occupation": occupation.pk,
            "level": "junior",
            "start_date": "2024-02-01",
            "end_date": "2024-04-01",
            "hours_online": "40",
            "hours_offline": "40",
            "class_size": "30",
            "fee": "2800",
            "evaluator": evaluator.pk,
            "level_test_plan": "",
            "institution": other_institution.pk,  # ignored: the institution comes from the login
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    plan = TrainingPlan.objects.get(title="2024年第2期")
    assert plan.institution == institution
    assert plan.status == PlanStatus.DRAFT

    response = client.post(
        reverse("admin:institutions_trainingplan_changelist"),
        {"action": "file_selected", "_selected_action": [plan.pk]},
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FILED


def test_bureau_reviewer_accepts_and_returns_with_a_reason(
    client_of, hangzhou_reviewer, institution, evaluator
):
    filed = TrainingPlanFactory(institution=institution, evaluator=evaluator, status=PlanStatus.FILED)
    other = TrainingPlanFactory(institution=institution, evaluator=evaluator, status=PlanStatus.FILED)
    client = client_of(hangzhou_reviewer)
    url = reverse("admin:institutions_trainingplan_changelist")
    client.post(url, {"action": "accept_selected", "_selected_action": [filed.pk]})
    filed.refresh_from_db()
    assert filed.status == PlanStatus.ACCEPTED

    form = client.post(url, {"action": "return_selected", "_selected_action": [other.pk]})
    assert form.status_code == 200 and "reason" in form.text
    client.post(
        url, {"action": "return_selected", "_selected_action": [other.pk], "apply": "1", "reason": "师资不足"}
    )
    other.refresh_from_db()
    assert (other.status, other.return_reason) == (PlanStatus.RETURNED, "师资不足")


def test_ningbo_reviewer_does_not_see_hangzhou_plans(client_of, ningbo_reviewer, ours, theirs):
    page = client_of(ningbo_reviewer).get(reverse("admin:institutions_trainingplan_changelist"))
    assert "别人的班" in page.text and "我们的班" not in page.text


def test_roster_import_page_shows_every_error_and_imports_a_good_file(
    client_of, institution_staff, ours, hangzhou
):
    from core.identity import generate_resident_id

    client = client_of(institution_staff)
    url = reverse("admin:institutions_trainingplan_import", args=[ours.pk, "roster"])
    header = ["身份证号码", "姓名", "人员类别", "户籍地"]
    good = generate_resident_id(sequence=7)
    bad = xlsx_bytes(header, [[good, "", "自由职业者", "杭州市"], [330102.0, "张三", "自由职业者", "不存在"]])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(url, {"file": SimpleUploadedFile("r.xlsx", bad)})
    assert response.status_code == 400
    assert response.text.count("<tr><td>") == 3  # row 2 name; row 3 ID and city
    assert not Enrolment.objects.exists()

    ok = xlsx_bytes(header, [[good, "张三", "自由职业者", "杭州市"]])
    preview = client.post(url, {"file": SimpleUploadedFile("r.xlsx", ok)})
    assert preview.status_code == 200 and preview.context["step"] == "preview"
    assert not Enrolment.objects.exists()  # the preview writes nothing
    response = client.post(url, {"token": preview.context["token"], "confirm": "1"})
    assert response.status_code == 200 and response.context["step"] == "done"
    assert Enrolment.objects.filter(
        plan=ours, **blind_lookup(Trainee, "resident_id", good, prefix="trainee__")
    ).exists()

    template = client.get(reverse("admin:institutions_trainingplan_template", args=["roster"]))
    assert template.status_code == 200
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")


def test_other_institution_cannot_open_our_import_page(client_of, other_institution, ours):
    intruder = UserFactory(role=Role.INSTITUTION, institution=other_institution)
    url = reverse("admin:institutions_trainingplan_import", args=[ours.pk, "roster"])
    assert client_of(intruder).get(url).status_code == 404


def test_institution_staff_issue_training_certificates_from_the_enrolments_page(
    client_of, institution_staff, ours
):
    enrolment = EnrolmentFactory(plan=ours)
    client_of(institution_staff).post(
        reverse("admin:trainees_enrolment_changelist"),
        {"action": "issue_training_certificates", "_selected_action": [enrolment.pk]},
    )
    enrolment.refresh_from_db()
    assert enrolment.training_certificate.number.startswith("PX")


def test_evaluation_staff_see_their_candidates_and_issue_level_certificates(
    client_of, evaluation_staff, ours, theirs
):
    candidate = TrainingCertificateFactory(enrolment=EnrolmentFactory(plan=ours))
    stranger = TrainingCertificateFactory(enrolment=EnrolmentFactory(plan=theirs))
    client = client_of(evaluation_staff)
    page = client.get(reverse("admin:certificates_trainingcertificate_changelist"))
    assert candidate.number in page.text and stranger.number not in page.text

    assessment = LevelAssessmentFactory(training_certificate=candidate)
    client.post(
        reverse("admin:certificates_levelassessment_changelist"),
        {"action": "issue_level_certificates", "_selected_action": [assessment.pk]},
    )
    assessment.refresh_from_db()
    assert assessment.certificate.number.startswith("DJ")
    page = client.get(reverse("admin:certificates_levelcertificate_changelist"))
    assert assessment.certificate.number in page.text
    assert client.get(reverse("admin:certificates_levelassessment_import")).status_code == 200


def test_trainee_page_shows_continuing_education_hours_and_exports_them(client_of, institution_staff, ours):
    enrolment = EnrolmentFactory(plan=ours)
    client = client_of(institution_staff)
    page = client.get(reverse("admin:trainees_trainee_change", args=[enrolment.trainee.pk]))
    assert page.status_code == 200
    assert "2024" in page.text and "80" in page.text
    export = client.post(
        reverse("admin:trainees_trainee_changelist") + "?ce_year=2024",
        {"action": "export_continuing_education", "_selected_action": [enrolment.trainee.pk]},
    )
    assert export.status_code == 200
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(export.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[1][1] == enrolment.trainee.resident_id
    assert rows[1][-1] == 80


def test_an_accepted_plan_is_shown_read_only_without_save_buttons(client_of, institution_staff, ours):
    from institutions.models import PlanStatus as Status

    TrainingPlan.objects.filter(pk=ours.pk).update(status=Status.ACCEPTED)
    page = client_of(institution_staff).get(reverse("admin:institutions_trainingplan_change", args=[ours.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html and 'name="_addanother"' not in html


def test_a_draft_plan_keeps_its_save_button(client_of, institution_staff, ours):
    TrainingPlan.objects.filter(pk=ours.pk).update(status=PlanStatus.DRAFT)
    html = (
        client_of(institution_staff)
        .get(reverse("admin:institutions_trainingplan_change", args=[ours.pk]))
        .text
    )
    assert 'name="_save"' in html
