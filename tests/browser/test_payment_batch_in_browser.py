"""The Hangzhou reviewer pays claims through the bank in a real browser: makes a batch from
the claim list, downloads the bank file, uploads the bank's result with one failure, and
sees the claims paid and the failure listed."""

import io

import openpyxl
import pytest

from accounts.models import Role
from accounts.tests.factories import UserFactory
from certificates.tests.factories import LevelCertificateFactory
from payments.models import BatchStatus, PaymentBatch
from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def approved_claims(hangzhou, hangzhou_bureau):
    claims = []
    for n, name in enumerate(["周一", "吴二", "郑三"], start=1):
        user = UserFactory(username=f"payee{n}", role=Role.TRAINEE)
        trainee = TraineeFactory(household_city=hangzhou, user=user, name=name)
        level = LevelCertificateFactory(assessment__training_certificate__enrolment__trainee=trainee)
        claims.append(
            SubsidyClaimFactory(
                level_certificate=level,
                status=ClaimStatus.APPROVED,
                payee_kind="bank",
                payee_bank="中国工商银行杭州分行",
                payee_account=f"62220212345678900{n}",
            )
        )
    return claims


def bank_answer(data: bytes, *, failed_row: int, reason: str) -> bytes:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    column = sheet.max_column + 1
    sheet.cell(row=1, column=column, value="结果")
    sheet.cell(row=1, column=column + 1, value="失败原因")
    for row in range(2, sheet.max_row + 1):
        number = sheet.cell(row=row, column=1).value
        if isinstance(number, int):
            sheet.cell(row=row, column=column, value="失败" if number == failed_row else "成功")
            if number == failed_row:
                sheet.cell(row=row, column=column + 1, value=reason)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_the_hangzhou_reviewer_pays_a_batch_through_the_bank(
    approved_claims, hangzhou_reviewer, journey, tmp_path
):
    page = journey.page
    journey.log_in(hangzhou_reviewer.username)
    journey.goto("/admin/subsidies/subsidyclaim/?status=approved", "approved-claims")
    for claim in approved_claims:
        page.check(f'#result_list input[name=_selected_action][value="{claim.pk}"]')
    page.select_option("#changelist-form select[name=action]", "put_into_batch")
    page.click("#changelist-form button[name=index]")
    page.wait_for_url("**/admin/payments/paymentbatch/*/change/")
    journey.step("batch-made")
    batch = PaymentBatch.objects.get()
    assert batch.item_count == 3

    with page.expect_download() as download:
        page.click("#download-bank-file")
    path = tmp_path / "daifa.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    assert [sheet.cell(row=r, column=5).value for r in (2, 3, 4)] == [
        c.payee_account for c in approved_claims
    ]
    assert sheet.cell(row=5, column=1).value == "合计"

    answer = tmp_path / "huipan.xlsx"
    answer.write_bytes(bank_answer(path.read_bytes(), failed_row=2, reason="户名与账号不符"))
    journey.goto(f"/admin/payments/paymentbatch/{batch.pk}/change/", "batch-exported")
    page.click("#import-result")
    page.set_input_files("input[type=file]", str(answer))
    journey.step("result-chosen")
    page.click("input[type=submit]")
    page.wait_for_load_state()
    journey.step("result-previewed")
    # The preview writes nothing; confirming imports the file as previewed.
    assert PaymentBatch.objects.get().status == BatchStatus.EXPORTED
    page.click("#import-confirm input[name=confirm]")
    page.wait_for_load_state()
    journey.step("result-imported")
    assert page.locator(".errornote").count() == 0

    journey.goto(f"/admin/payments/paymentbatch/{batch.pk}/change/", "batch-reconciled")
    failed = page.locator("#failed-payments")
    assert "户名与账号不符" in failed.inner_text()
    assert "吴二" in failed.inner_text()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RECONCILED
    statuses = [SubsidyClaim.objects.get(pk=c.pk).status for c in approved_claims]
    assert statuses == [ClaimStatus.PAID, ClaimStatus.APPROVED, ClaimStatus.PAID]
