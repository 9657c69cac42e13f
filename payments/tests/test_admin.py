"""The reviewer's pages: batch from the claim list, bank file, result import, cancel; the
trainee's payee account page. Thin pages: the services are tested in test_batches.py."""

import pytest
from django.urls import reverse

from payments.models import BatchStatus, PaymentBatch
from payments.tests.conftest import result_file
from subsidies.models import ClaimStatus

pytestmark = pytest.mark.django_db


def test_the_reviewer_batches_selected_claims_downloads_the_file_and_imports_the_result(
    hangzhou_reviewer, client_of, approved_claim
):
    claims = [approved_claim(), approved_claim()]
    client = client_of(hangzhou_reviewer)
    response = client.post(
        reverse("admin:subsidies_subsidyclaim_changelist"),
        {"action": "put_into_batch", "_selected_action": [c.pk for c in claims]},
    )
    batch = PaymentBatch.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{batch.pk}/change/")
    page = client.get(reverse("admin:payments_paymentbatch_change", args=[batch.pk]))
    assert page.status_code == 200 and "6222" in page.content.decode()
    assert claims[0].payee_account not in page.content.decode()  # masked on the page
    download = client.get(reverse("admin:payments_paymentbatch_bank_file", args=[batch.pk]))
    assert download.status_code == 200 and download["Content-Type"].startswith("application/vnd.openxml")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED
    answer = result_file(download.content, failures={2: "账户冻结"})
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("result.xlsx", answer)
    url = reverse("admin:payments_paymentbatch_import") + f"?batch={batch.pk}"
    preview = client.post(url, {"file": upload})
    assert preview.status_code == 200, preview.content.decode()[:2000]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED  # the preview writes nothing
    response = client.post(url, {"token": preview.context["token"], "confirm": "1"})
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RECONCILED
    page = client.get(reverse("admin:payments_paymentbatch_change", args=[batch.pk])).content.decode()
    assert "账户冻结" in page
    claims[0].refresh_from_db()
    assert claims[0].status == ClaimStatus.PAID


def test_a_result_file_with_errors_lists_them_by_row_and_column(hangzhou_reviewer, client_of, approved_claim):
    client = client_of(hangzhou_reviewer)
    claim = approved_claim()
    from payments.services import batch_create

    batch = batch_create(actor=hangzhou_reviewer, claims=[claim]).batch
    data = client.get(reverse("admin:payments_paymentbatch_bank_file", args=[batch.pk])).content
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("result.xlsx", result_file(data, amounts={1: 1.0}))
    response = client.post(reverse("admin:payments_paymentbatch_import"), {"file": upload})
    assert response.status_code == 400
    body = response.content.decode()
    assert "import-errors" in body and "金额（元）" in body


def test_the_batch_by_date_page_and_cancel(hangzhou_reviewer, client_of, approved_claim):
    client = client_of(hangzhou_reviewer)
    approved_claim()
    import datetime

    response = client.post(
        reverse("admin:payments_paymentbatch_new"), {"approved_up_to": datetime.date.today().isoformat()}
    )
    batch = PaymentBatch.objects.get()
    assert response.status_code == 302
    response = client.post(reverse("admin:payments_paymentbatch_cancel", args=[batch.pk]), {"reason": "重做"})
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED


def test_another_bureau_sees_no_hangzhou_batch(hangzhou_reviewer, ningbo_reviewer, client_of, approved_claim):
    from payments.services import batch_create

    batch = batch_create(actor=hangzhou_reviewer, claims=[approved_claim()]).batch
    client = client_of(ningbo_reviewer)
    assert client.get(reverse("admin:payments_paymentbatch_change", args=[batch.pk])).status_code in (
        302,
        404,
    )
    assert client.get(reverse("admin:payments_paymentbatch_bank_file", args=[batch.pk])).status_code == 404


def test_the_trainee_page_sets_the_payee_account_through_the_service(provincial_staff, client_of, trainee):
    client = client_of(provincial_staff)
    url = reverse("admin:trainees_trainee_payee_account", args=[trainee.pk])
    bad = client.post(url, {"kind": "bank", "bank_name": "工行", "account": "123"})
    assert bad.status_code == 200
    trainee.refresh_from_db()
    assert trainee.bank_account == ""
    client.post(url, {"kind": "bank", "bank_name": "工行", "account": "6222021234567890123"})
    trainee.refresh_from_db()
    assert trainee.bank_account == "6222021234567890123"
    page = client.get(reverse("admin:trainees_trainee_change", args=[trainee.pk])).content.decode()
    assert "6222***********0123" in page and "6222021234567890123" not in page


def test_the_claim_page_shows_the_payee_account_masked(hangzhou_reviewer, client_of, approved_claim):
    claim = approved_claim()
    body = (
        client_of(hangzhou_reviewer)
        .get(reverse("admin:subsidies_subsidyclaim_change", args=[claim.pk]))
        .content.decode()
    )
    assert claim.masked_payee_account in body and claim.payee_account not in body
