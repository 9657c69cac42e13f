"""The reviewer's pages for measures and the claim's training and documents."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from subsidies.models import CityMeasure, DocumentKind
from subsidies.services import claim_document_attach
from subsidies.tests.factories import SubsidyClaimFactory
from subsidies.tests.helpers import freeze
from trainees.models import Attendance
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def measure_post(city, **extra):
    data = {
        "city": city.pk,
        "title": "杭人社发〔2025〕3号",
        "effective_from": "2025-04-01",
        "claim_window_months": "18",
        "share_professional": "100",
        "share_new_form": "100",
        "share_freelancer": "80",
        "share_graduate": "100",
        "shortage_uplift_percent": "10",
        "shortage_uplift_cap": "300",
        "requirements-TOTAL_FORMS": "1",
        "requirements-INITIAL_FORMS": "0",
        "requirements-MIN_NUM_FORMS": "0",
        "requirements-MAX_NUM_FORMS": "1000",
        "requirements-0-basis": "residence",
        "requirements-0-kind": "residence_permit",
        "requirements-0-alternative": "",
    }
    data.update(extra)
    return data


def test_a_reviewer_adds_a_measure_for_its_own_city_only(client_of, hangzhou_reviewer, hangzhou, ningbo):
    client = client_of(hangzhou_reviewer)
    url = reverse("admin:subsidies_citymeasure_add")
    with freeze(datetime.date(2025, 3, 10)):
        refused = client.post(url, measure_post(ningbo))
        assert refused.status_code == 200 and not CityMeasure.objects.exists()
        response = client.post(url, measure_post(hangzhou))
    assert response.status_code == 302, response.content.decode()[:2000]
    measure = CityMeasure.objects.get()
    assert (measure.city, measure.claim_window_months, measure.created_by) == (
        hangzhou,
        18,
        hangzhou_reviewer,
    )
    assert [str(r.kind) for r in measure.requirements.all()] == ["residence_permit"]


def test_a_measure_in_force_is_read_only_in_the_admin(
    client_of, hangzhou_reviewer, provincial_staff, hangzhou
):
    measure = CityMeasure.objects.create(
        city=hangzhou, effective_from=datetime.date(2024, 1, 1), title="旧措施"
    )
    for user in (hangzhou_reviewer, provincial_staff):
        client = client_of(user)
        page = client.get(reverse("admin:subsidies_citymeasure_change", args=[measure.pk]))
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        client.post(
            reverse("admin:subsidies_citymeasure_change", args=[measure.pk]),
            measure_post(hangzhou, title="改"),
        )
    assert CityMeasure.objects.get(pk=measure.pk).title == "旧措施"


def test_the_claim_page_shows_the_computation_the_training_and_the_documents(
    client_of, hangzhou_reviewer, ningbo_reviewer, hangzhou, hangzhou_bureau
):
    trainee = TraineeFactory(
        household_city=hangzhou,
        user=__import__("accounts.tests.factories", fromlist=["x"]).UserFactory(role="trainee"),
    )
    claim = SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=trainee,
        bureau=hangzhou_bureau,
    )
    claim.standard_amount, claim.share_percent, claim.uplift_amount = claim.amount, 100, 0
    claim.save()
    document = claim_document_attach(
        trainee=trainee,
        kind=DocumentKind.RESIDENCE_PERMIT,
        file=SimpleUploadedFile("居住证.png", PNG),
        actor=trainee.user,
        claim=claim,
    )
    enrolment = claim.training_certificate.enrolment
    client = client_of(hangzhou_reviewer)
    page = client.get(reverse("admin:subsidies_subsidyclaim_change", args=[claim.pk])).content.decode()
    assert f"{claim.amount:.2f} × 100% + 0.00 = {claim.amount:.2f}" in page
    attendance_url = reverse("admin:trainees_attendance_changelist") + f"?enrolment__id__exact={enrolment.pk}"
    assert attendance_url in page
    assert client.get(attendance_url + "&standing=current").status_code == 200
    file_url = reverse("admin:subsidies_subsidyclaim_document", args=[claim.pk, document.pk])
    assert file_url in page and "居住证.png" in page
    response = client.get(file_url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert client_of(ningbo_reviewer).get(file_url).status_code == 404
    assert Attendance.objects.count() == 0


def test_a_share_above_100_is_refused_in_words_not_by_constraint_name(client_of, provincial_staff, hangzhou):
    with freeze(datetime.date(2025, 3, 10)):
        response = client_of(provincial_staff).post(
            reverse("admin:subsidies_citymeasure_add"), measure_post(hangzhou, share_freelancer="120")
        )
    page = response.content.decode()
    assert response.status_code == 200 and not CityMeasure.objects.exists()
    assert "subsidies_citymeasure" not in page
    assert "100" in page  # the field's own message: at most 100


def test_the_database_holds_the_measure_and_evaluation_rules(hangzhou, trainee):
    from django.db import IntegrityError, transaction

    from trainees.models import ClassEvaluation
    from trainees.tests.factories import EnrolmentFactory

    with pytest.raises(IntegrityError, match="subsidies_citymeasure_shares_0_to_100"), transaction.atomic():
        CityMeasure.objects.create(
            city=hangzhou, effective_from=datetime.date(2025, 1, 1), title="x", share_graduate=101
        )
    with pytest.raises(IntegrityError, match="subsidies_citymeasure"), transaction.atomic():
        for _ in range(2):
            CityMeasure.objects.create(city=hangzhou, effective_from=datetime.date(2025, 2, 1), title="y")
    enrolment = EnrolmentFactory(trainee=trainee)
    with pytest.raises(IntegrityError, match="trainees_classevaluation_scores_1_to_5"), transaction.atomic():
        ClassEvaluation.objects.create(
            enrolment=enrolment,
            content=6,
            teaching=3,
            organisation=3,
            submitted_at=datetime.datetime.now(datetime.UTC),
        )
