"""Supporting documents: required by the city's measure (missing_documents), uploaded by the
trainee, served only to the trainee and the claim's bureau."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from accounts.tests.factories import UserFactory
from core.errors import ApplicationError
from subsidies.models import CityMeasure, ClaimBasis, ClaimDocument, DocumentKind, DocumentRequirement
from subsidies.services import claim_document_attach
from subsidies.tests.helpers import failed_codes

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


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
    m = CityMeasure.objects.create(
        city=hangzhou, effective_from=datetime.date(2024, 1, 1), title="杭人社发〔2024〕12号"
    )
    DocumentRequirement.objects.create(
        measure=m, basis=ClaimBasis.RESIDENCE, kind=DocumentKind.RESIDENCE_PERMIT
    )
    DocumentRequirement.objects.create(
        measure=m,
        basis=ClaimBasis.EMPLOYMENT,
        kind=DocumentKind.LABOUR_CONTRACT,
        alternative=DocumentKind.SOCIAL_INSURANCE,
    )
    return m


def test_a_claim_without_the_required_residence_permit_is_refused_with_missing_documents(
    resident, hz_measure, certify, submit, today
):
    training, level = certify(resident)
    with pytest.raises(ApplicationError) as exc:
        submit(resident, training, level)
    assert failed_codes(exc) == ["missing_documents"]
    message = exc.value.detail["rules"][0]["message"]
    assert "居住证" in message and hz_measure.title in message

    claim_document_attach(
        trainee=resident,
        kind=DocumentKind.LABOUR_CONTRACT,  # not what the residence basis asks for
        file=SimpleUploadedFile("contract.pdf", PDF),
        actor=resident.user,
    )
    with pytest.raises(ApplicationError) as exc:
        submit(resident, training, level)
    assert failed_codes(exc) == ["missing_documents"]

    permit = claim_document_attach(
        trainee=resident,
        kind=DocumentKind.RESIDENCE_PERMIT,
        file=SimpleUploadedFile("居住证.png", PNG),
        actor=resident.user,
    )
    claim = submit(resident, training, level)
    assert claim.basis == ClaimBasis.RESIDENCE
    assert set(claim.documents.values_list("kind", flat=True)) == {
        DocumentKind.RESIDENCE_PERMIT,
        DocumentKind.LABOUR_CONTRACT,
    }
    permit.refresh_from_db()
    assert permit.claim == claim
    assert permit.file.read() == PNG


def test_either_of_two_accepted_documents_meets_a_requirement(
    trainee, hangzhou, ningbo, hz_measure, certify, submit, today
):
    trainee.household_city = ningbo
    trainee.residence_city = ningbo
    trainee.employment_city = hangzhou
    trainee.save()
    training, level = certify(trainee)
    claim_document_attach(
        trainee=trainee,
        kind=DocumentKind.SOCIAL_INSURANCE,
        file=SimpleUploadedFile("sb.pdf", PDF),
        actor=trainee.user,
    )
    assert submit(trainee, training, level).basis == ClaimBasis.EMPLOYMENT


def test_documents_are_checked_for_type_and_size(trainee, settings):
    for name, content in (("note.pdf", b"just text, renamed"), ("empty.png", b"")):
        with pytest.raises(ApplicationError) as exc:
            claim_document_attach(
                trainee=trainee,
                kind=DocumentKind.RESIDENCE_PERMIT,
                file=SimpleUploadedFile(name, content),
                actor=trainee.user,
            )
        assert exc.value.code == "invalid_document" and "file" in exc.value.detail
    settings.CLAIM_DOCUMENT_MAX_BYTES = 1024 * 1024
    with pytest.raises(ApplicationError) as exc:
        claim_document_attach(
            trainee=trainee,
            kind=DocumentKind.RESIDENCE_PERMIT,
            file=SimpleUploadedFile("big.png", PNG + b"\x00" * (1024 * 1024)),
            actor=trainee.user,
        )
    assert exc.value.code == "invalid_document"
    with pytest.raises(ApplicationError) as exc:
        claim_document_attach(
            trainee=trainee, kind="passport", file=SimpleUploadedFile("p.png", PNG), actor=trainee.user
        )
    assert "kind" in exc.value.detail
    assert not ClaimDocument.objects.exists()


def test_the_trainee_uploads_and_submits_through_the_api_and_only_the_claims_bureau_reads_the_file(
    resident,
    hz_measure,
    certify,
    hangzhou_bureau,
    api_client_of,
    hangzhou_reviewer,
    ningbo_reviewer,
    provincial_staff,
    today,
):
    training, level = certify(resident)
    api = api_client_of(resident.user)
    check = api.post(
        "/api/v1/claims/check/",
        {"training_certificate": training.pk, "level_certificate": level.pk, "bureau": hangzhou_bureau.pk},
        format="json",
    ).json()
    assert not check["eligible"]
    assert [d["kind"] for d in check["missing_documents"]] == [DocumentKind.RESIDENCE_PERMIT]
    assert check["amount"] == "2200.00" and check["measure_title"] == hz_measure.title

    upload = api.post(
        "/api/v1/claim-documents/",
        {"kind": DocumentKind.RESIDENCE_PERMIT, "file": SimpleUploadedFile("居住证.png", PNG)},
        format="multipart",
    )
    assert upload.status_code == 201, upload.json()
    document_id = upload.json()["id"]
    created = api.post(
        "/api/v1/claims/",
        {
            "training_certificate": training.pk,
            "level_certificate": level.pk,
            "bureau": hangzhou_bureau.pk,
            "documents": [document_id],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["computation"] == "2200.00 × 100% + 0.00 = 2200.00"
    assert body["measure_title"] == hz_measure.title
    assert [d["id"] for d in body["documents"]] == [document_id]

    url = f"/api/v1/claim-documents/{document_id}/file/"
    for reader in (resident.user, hangzhou_reviewer):
        response = api_client_of(reader).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PNG
        assert response["Content-Type"] == "image/png"
    other_trainee = UserFactory(role=Role.TRAINEE)
    for outsider in (ningbo_reviewer, provincial_staff, other_trainee):
        assert api_client_of(outsider).get(url).status_code == 404
        assert api_client_of(outsider).get(f"/api/v1/claim-documents/{document_id}/").status_code == 404
    assert api_client_of(None).get(url).status_code == 401
