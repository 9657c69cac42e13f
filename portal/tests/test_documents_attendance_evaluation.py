"""The trainee service joined to training on the record: the claim wizard's documents step
and the amount's computation (各市配套措施), my attendance (考勤), and 评教."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from accounts.tests.factories import UserFactory
from institutions.tests.factories import TrainingPlanFactory
from portal import wizard
from subsidies.models import (
    CityMeasure,
    ClaimBasis,
    ClaimDocument,
    DocumentKind,
    DocumentRequirement,
    SubsidyClaim,
)
from trainees.models import ClassEvaluation, CompletionResult, SessionMode
from trainees.services import attendance_correct, attendance_record, session_create
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PAYEE = {
    "kind": "ssc",
    "bank_name": "中国工商银行杭州分行",
    "account": "6222021234567890123",
    "own_name": "on",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def resident(trainee, ningbo, hangzhou):
    """Registered in Ningbo, living in Hangzhou: claims at Hangzhou as a resident."""
    trainee.household_city = ningbo
    trainee.residence_city = hangzhou
    trainee.save()
    return trainee


@pytest.fixture
def hz_measure(hangzhou):
    """Hangzhou pays professionals 80 % of the standard and asks residents for a 居住证."""
    measure = CityMeasure.objects.create(
        city=hangzhou,
        effective_from=datetime.date(2024, 1, 1),
        title="杭人社发〔2024〕12号",
        share_professional=Decimal("80"),
    )
    DocumentRequirement.objects.create(
        measure=measure, basis=ClaimBasis.RESIDENCE, kind=DocumentKind.RESIDENCE_PERMIT
    )
    return measure


def test_a_residents_claim_at_a_city_asking_for_a_residence_permit_passes_the_documents_step(
    trainee_client, resident, hz_measure, certificates, hangzhou_bureau
):
    _training, level = certificates
    trainee_client.post("/me/claim/certificate/", {"level_certificate": level.pk})
    check = trainee_client.get("/me/claim/check/").content.decode()
    # The computation and the missing 居住证 before anything is written.
    assert "2200.00" in check and "80%" in check and "1760.00" in check and hz_measure.title in check
    assert 'data-missing="residence_permit"' in check
    assert 'data-code="missing_documents"' in check
    assert trainee_client.post("/me/claim/check/", {"continue": "1"})["Location"] == "/me/claim/documents/"
    # The payee step is not reachable before the documents are in.
    assert trainee_client.get("/me/claim/payee/")["Location"] == "/me/claim/documents/"
    refused = trainee_client.post("/me/claim/documents/", {"continue": "1"})
    assert refused.status_code == 200 and 'id="documents-error"' in refused.content.decode()

    # A text file renamed .png is judged by its content and refused beside the field.
    bad = trainee_client.post(
        "/me/claim/documents/",
        {"upload": "1", "kind": "residence_permit", "file": SimpleUploadedFile("permit.png", b"hello")},
    )
    assert bad.status_code == 200 and "id_file_error" in bad.content.decode()
    assert not ClaimDocument.objects.exists()

    uploaded = trainee_client.post(
        "/me/claim/documents/",
        {"upload": "1", "kind": "residence_permit", "file": SimpleUploadedFile("居住证.png", PNG)},
    )
    assert uploaded["Location"] == "/me/claim/documents/"
    page = trainee_client.get("/me/claim/documents/").content.decode()
    assert "居住证.png" in page and 'data-missing="residence_permit"' not in page
    assert trainee_client.post("/me/claim/documents/", {"continue": "1"})["Location"] == "/me/claim/payee/"
    assert trainee_client.post("/me/claim/payee/", PAYEE)["Location"] == "/me/claim/confirm/"
    confirm = trainee_client.get("/me/claim/confirm/").content.decode()
    assert "1760.00" in confirm and "居住证.png" in confirm
    trainee_client.post("/me/claim/confirm/", {"level_certificate": level.pk})

    claim = SubsidyClaim.objects.get()
    document = ClaimDocument.objects.get()
    assert (claim.basis, claim.measure, claim.amount) == (
        ClaimBasis.RESIDENCE,
        hz_measure,
        Decimal("1760.00"),
    )
    assert document.claim == claim
    detail = trainee_client.get(f"/me/claims/{claim.pk}/").content.decode()
    assert "2200.00" in detail and "80%" in detail and "1760.00" in detail
    assert f"/me/documents/{document.pk}/" in detail
    download = trainee_client.get(f"/me/documents/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"


def test_another_trainee_or_a_reviewer_cannot_download_the_document(
    client, resident, hz_measure, hangzhou, hangzhou_reviewer
):
    from subsidies.services import claim_document_attach

    document = claim_document_attach(
        trainee=resident,
        kind=DocumentKind.RESIDENCE_PERMIT,
        file=SimpleUploadedFile("居住证.png", PNG),
        actor=resident.user,
    )
    other = TraineeFactory(household_city=hangzhou, user=UserFactory(role=Role.TRAINEE))
    client.force_login(other.user)
    assert client.get(f"/me/documents/{document.pk}/").status_code == 404
    client.force_login(hangzhou_reviewer)  # staff read it in the admin, never here
    assert client.get(f"/me/documents/{document.pk}/").status_code == 403


def test_a_forged_wizard_state_without_the_document_is_refused_at_submission(
    trainee_client, resident, hz_measure, certificates, hangzhou_bureau
):
    _training, level = certificates
    session = trainee_client.session
    session[wizard.STATE_KEY] = {
        "level_certificate": level.pk,
        "bureau": hangzhou_bureau.pk,
        "checked": True,
        "documents_required": True,
        "documents": True,  # claimed done, but nothing was uploaded
        "payee": True,
    }
    session.save()
    resident.payee_kind, resident.bank_name, resident.bank_account = "ssc", "工行", "6222021234567890123"
    resident.save()
    response = trainee_client.post("/me/claim/confirm/", {"level_certificate": level.pk})
    assert response["Location"] == "/me/claim/check/"
    assert not SubsidyClaim.objects.exists()
    check = trainee_client.get("/me/claim/check/").content.decode()
    assert 'data-code="missing_documents"' in check


def test_without_a_measure_the_wizard_has_no_documents_step_and_shows_the_provincial_standard(
    trainee_client, certificates
):
    _training, level = certificates
    trainee_client.post("/me/claim/certificate/", {"level_certificate": level.pk})
    check = trainee_client.get("/me/claim/check/").content.decode()
    assert "2200.00" in check and "100%" in check and "documents-needed" not in check
    assert trainee_client.post("/me/claim/check/", {"continue": "1"})["Location"] == "/me/claim/payee/"
    assert trainee_client.get("/me/claim/documents/")["Location"] == "/me/claim/payee/"


# -- my attendance ---------------------------------------------------------------------------


@pytest.fixture
def enrolled(trainee, institution, evaluator):
    plan = TrainingPlanFactory(institution=institution, evaluator=evaluator, title="人工智能初级班")
    return EnrolmentFactory(
        plan=plan,
        trainee=trainee,
        hours_online=0,
        hours_offline=0,
        completion_result=CompletionResult.PENDING,
        completion_date=None,
    )


def add_session(plan, actor, hour, mode=SessionMode.ONLINE):
    return session_create(
        plan=plan,
        date=datetime.date(2024, 1, 10),
        starts_at=datetime.time(hour, 0),
        ends_at=datetime.time(hour + 1, 30),
        mode=mode,
        topic=f"第{hour}讲",
        venue="平台",
        actor=actor,
    )


def test_my_attendance_shows_each_session_with_corrections_applied(
    trainee_client, trainee, enrolled, institution_staff, institution
):
    first = add_session(enrolled.plan, institution_staff, 9)
    second = add_session(enrolled.plan, institution_staff, 14, mode=SessionMode.OFFLINE)
    attendance_record(enrolment=enrolled, session=first, minutes=90, actor=institution_staff)
    wrong = attendance_record(enrolment=enrolled, session=second, minutes=17, actor=institution_staff)
    attendance_correct(record=wrong, reason="签到表录入错误", minutes=85, actor=institution_staff)
    # Someone else's attendance in the same class is not shown.
    stranger = EnrolmentFactory(plan=enrolled.plan, completion_result="pending", completion_date=None)
    attendance_record(enrolment=stranger, session=first, minutes=33, actor=institution_staff)

    record_page = trainee_client.get("/me/").content.decode()
    assert 'href="/me/attendance/"' in record_page
    page = trainee_client.get("/me/attendance/").content.decode()
    assert "人工智能初级班" in page and "2024-01-10" in page
    assert "09:00–10:30" in page and "14:00–15:30" in page
    assert ">90<" in page and ">85<" in page and ">17<" not in page and ">33<" not in page
    assert "签到表录入错误" in page  # the correction says why


def test_my_attendance_is_for_trainees_only(client, hangzhou_reviewer):
    assert client.get("/me/attendance/")["Location"].startswith("/login/")
    client.force_login(hangzhou_reviewer)
    assert client.get("/me/attendance/").status_code == 403


# -- 评教 ------------------------------------------------------------------------------------


def test_a_class_is_rated_after_the_completion_test_and_only_once(trainee_client, enrolled):
    url = f"/me/classes/{enrolled.pk}/evaluate/"
    assert 'id="evaluation-not-yet"' in trainee_client.get(url).content.decode()
    trainee_client.post(url, {"content": "5", "teaching": "4", "organisation": "3"})
    assert not ClassEvaluation.objects.exists()

    enrolled.completion_result, enrolled.completion_date = CompletionResult.PASSED, datetime.date(2024, 3, 29)
    enrolled.save()
    assert f'data-evaluate="{enrolled.pk}"' in trainee_client.get("/me/attendance/").content.decode()
    wrong = trainee_client.post(url, {"content": "6", "teaching": "4", "organisation": "3"})
    assert wrong.status_code == 200 and "has-error" in wrong.content.decode()
    assert not ClassEvaluation.objects.exists()

    done = trainee_client.post(
        url, {"content": "5", "teaching": "4", "organisation": "3", "comment": "实训很好"}
    )
    assert done["Location"] == "/me/attendance/"
    evaluation = ClassEvaluation.objects.get()
    assert (evaluation.content, evaluation.teaching, evaluation.organisation, evaluation.comment) == (
        5,
        4,
        3,
        "实训很好",
    )
    again = trainee_client.post(url, {"content": "1", "teaching": "1", "organisation": "1"})
    assert 'id="evaluation-done"' in again.content.decode()
    assert ClassEvaluation.objects.get().content == 5
    assert f'data-evaluate="{enrolled.pk}"' not in trainee_client.get("/me/attendance/").content.decode()


def test_a_trainee_cannot_rate_anothers_class(trainee_client, institution):
    other = EnrolmentFactory(
        plan=TrainingPlanFactory(institution=institution),
        completion_result=CompletionResult.PASSED,
        completion_date=datetime.date(2024, 3, 29),
    )
    assert trainee_client.get(f"/me/classes/{other.pk}/evaluate/").status_code == 404
    trainee_client.post(
        f"/me/classes/{other.pk}/evaluate/", {"content": "5", "teaching": "5", "organisation": "5"}
    )
    assert not ClassEvaluation.objects.exists()
