"""SPEC "Payment (拨付)": batches, the bank file, the bank's result, reconciliation."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import IntegrityError, transaction

from accounts.models import Message
from core.errors import ApplicationError
from core.xlsx_import import ImportRejected
from payments.exports import bank_file
from payments.imports import batch_import_results
from payments.models import BatchStatus, ItemResult, PaymentBatch, PaymentItem
from payments.selectors import batches_waiting_for_results
from payments.services import batch_cancel, batch_create, batch_mark_exported, claim_refresh_payee_account
from payments.tests.conftest import result_file
from subsidies.models import ClaimEvent, ClaimStatus
from trainees.services import trainee_set_payee_account

pytestmark = pytest.mark.django_db


def _exported(reviewer, claims):
    batch = batch_create(actor=reviewer, claims=claims).batch
    batch = batch_mark_exported(batch=batch, actor=reviewer)
    return batch, bank_file(batch)


def test_a_batch_of_selected_claims_has_number_count_total_and_one_row_per_claim(
    hangzhou_reviewer, approved_claim
):
    claims = [approved_claim(), approved_claim()]
    batch = batch_create(actor=hangzhou_reviewer, claims=claims).batch
    assert batch.status == BatchStatus.OPEN
    assert batch.number.startswith("330100-")
    assert batch.item_count == 2
    assert batch.total == sum(c.amount for c in claims)
    assert batch.created_by == hangzhou_reviewer
    assert [i.claim_id for i in batch.items.order_by("row")] == [c.pk for c in claims]
    for claim in claims:
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.APPROVED
        assert batch.number in claim.events.last().reason


def test_a_claim_without_a_payee_account_cannot_enter_a_batch_and_says_why(hangzhou_reviewer, approved_claim):
    good, bad = approved_claim(), approved_claim(payee=False)
    with pytest.raises(ApplicationError) as exc:
        batch_create(actor=hangzhou_reviewer, claims=[good, bad])
    assert exc.value.code == "claims_not_payable"
    assert "收款账户" in exc.value.detail["claims"][str(bad.pk)]
    assert str(good.pk) not in exc.value.detail["claims"]
    assert not PaymentBatch.objects.exists()


def test_a_claim_is_in_at_most_one_pending_batch(hangzhou_reviewer, approved_claim):
    claim = approved_claim()
    batch_create(actor=hangzhou_reviewer, claims=[claim])
    with pytest.raises(ApplicationError) as exc:
        batch_create(actor=hangzhou_reviewer, claims=[claim])
    assert exc.value.code == "claims_not_payable"
    assert PaymentItem.objects.filter(claim=claim).count() == 1


def test_the_database_refuses_a_second_pending_row_for_a_claim(hangzhou_reviewer, approved_claim):
    claim = approved_claim()
    first = batch_create(actor=hangzhou_reviewer, claims=[claim]).batch
    other = PaymentBatch.objects.create(
        number="X-1", bureau=first.bureau, created_at=first.created_at, created_by=hangzhou_reviewer
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentItem.objects.create(
            batch=other,
            claim=claim,
            row=1,
            amount=claim.amount,
            payee_name="x",
            payee_resident_id="x",
            payee_bank="x",
            payee_account="x",
        )


def test_all_approved_up_to_a_date_leaves_out_claims_without_account_and_later_ones(
    hangzhou_reviewer, approved_claim, ningbo_reviewer
):
    early = approved_claim()
    no_account = approved_claim(payee=False)
    late = approved_claim()
    type(late).objects.filter(pk=late.pk).update(decided_at=late.decided_at + datetime.timedelta(days=3))
    submitted = approved_claim(status=ClaimStatus.SUBMITTED)
    draft = batch_create(actor=hangzhou_reviewer, approved_up_to=datetime.date.today())
    in_batch = set(draft.batch.items.values_list("claim_id", flat=True))
    assert early.pk in in_batch
    assert not in_batch & {no_account.pk, late.pk, submitted.pk}
    assert [c.pk for c, _reason in draft.left_out] == [no_account.pk]


def test_another_bureau_cannot_put_hangzhou_claims_into_a_batch(ningbo_reviewer, approved_claim):
    with pytest.raises(ApplicationError) as exc:
        batch_create(actor=ningbo_reviewer, claims=[approved_claim()])
    assert exc.value.code == "claims_not_payable"


def test_a_batch_is_cancelled_before_export_only_and_its_claims_are_free_again(
    hangzhou_reviewer, approved_claim
):
    claim = approved_claim()
    batch = batch_create(actor=hangzhou_reviewer, claims=[claim]).batch
    batch_cancel(batch=batch, actor=hangzhou_reviewer, reason="金额核对有误")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    second = batch_create(actor=hangzhou_reviewer, claims=[claim]).batch
    batch_mark_exported(batch=second, actor=hangzhou_reviewer)
    with pytest.raises(ApplicationError) as exc:
        batch_cancel(batch=second, actor=hangzhou_reviewer, reason="不要了")
    assert exc.value.code == "batch_not_cancellable"


def test_the_bank_file_is_a_print_ready_form_with_full_accounts_as_text_and_a_total(
    hangzhou_reviewer, approved_claim
):
    claims = [approved_claim(), approved_claim()]
    batch, data = _exported(hangzhou_reviewer, claims)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == [
        "序号",
        "姓名",
        "身份证号码",
        "开户行",
        "账号",
        "金额（元）",
        "摘要",
    ]
    assert sheet["E2"].value == claims[0].payee_account  # the full number: it goes to the bank
    assert sheet["E2"].number_format == "@" and sheet["C2"].number_format == "@"
    assert sheet["G2"].value == f"补贴申领 {claims[0].pk}"
    assert sheet["A4"].value == "合计"
    assert Decimal(str(sheet["F4"].value)) == batch.total
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"
    assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text
    assert any(c.value and "制表人" in str(c.value) for row in sheet.iter_rows() for c in row)
    assert sheet["A2"].border.left.style == "thin"


def test_a_result_with_one_failure_pays_the_others_and_keeps_the_failed_claim_approved(
    hangzhou_reviewer, approved_claim
):
    claims = [approved_claim(), approved_claim(), approved_claim()]
    batch, data = _exported(hangzhou_reviewer, claims)
    assert list(batches_waiting_for_results(hangzhou_reviewer)) == [batch]
    result = batch_import_results(
        upload=result_file(data, failures={2: "账户已销户"}), actor=hangzhou_reviewer
    )
    assert result.extra["paid"] == 2 and result.extra["failed"] == 1
    batch.refresh_from_db()
    assert (batch.status, batch.paid_count, batch.failed_count) == (BatchStatus.RECONCILED, 2, 1)
    assert batch.paid_total + batch.failed_total == batch.total
    paid, failed, paid_too = (type(c).objects.get(pk=c.pk) for c in claims)
    assert paid.status == ClaimStatus.PAID and paid.voucher_number == f"{batch.number}-0001"
    assert paid.paid_on == datetime.date.today() and paid.paid_amount == paid.amount
    assert paid_too.voucher_number == f"{batch.number}-0003"
    assert failed.status == ClaimStatus.APPROVED
    item = batch.items.get(claim=failed)
    assert (item.result, item.failure_reason) == (ItemResult.FAILED, "账户已销户")
    assert "账户已销户" in failed.events.last().reason
    assert Message.objects.filter(recipient=paid.trainee.user, kind="payment").count() == 1
    assert Message.objects.filter(
        recipient=failed.trainee.user, kind="payment", body__contains="账户已销户"
    ).exists()
    assert not batches_waiting_for_results(hangzhou_reviewer).exists()


def test_the_same_result_imported_twice_changes_nothing(hangzhou_reviewer, approved_claim):
    claims = [approved_claim(), approved_claim()]
    _batch, data = _exported(hangzhou_reviewer, claims)
    answer = result_file(data, failures={1: "户名不符"})
    batch_import_results(upload=answer, actor=hangzhou_reviewer)
    events, messages = ClaimEvent.objects.count(), Message.objects.count()
    again = batch_import_results(upload=answer, actor=hangzhou_reviewer)
    assert again.unchanged == 2 and again.updated == 0
    assert (ClaimEvent.objects.count(), Message.objects.count()) == (events, messages)


def test_a_different_result_for_a_reconciled_batch_is_refused(hangzhou_reviewer, approved_claim):
    claims = [approved_claim(), approved_claim()]
    _batch, data = _exported(hangzhou_reviewer, claims)
    batch_import_results(upload=result_file(data, failures={1: "户名不符"}), actor=hangzhou_reviewer)
    with pytest.raises(ApplicationError) as exc:
        batch_import_results(upload=result_file(data), actor=hangzhou_reviewer)
    assert exc.value.code == "batch_already_reconciled"
    assert type(claims[0]).objects.get(pk=claims[0].pk).status == ClaimStatus.APPROVED


def test_a_result_that_does_not_reconcile_is_refused_and_changes_nothing(hangzhou_reviewer, approved_claim):
    claims = [approved_claim(), approved_claim()]
    batch, data = _exported(hangzhou_reviewer, claims)
    with pytest.raises(ImportRejected) as exc:
        batch_import_results(upload=result_file(data, drop_rows={2}), actor=hangzhou_reviewer)
    messages = " ".join(e["message"] for e in exc.value.detail["errors"])
    assert "1" in messages and str(batch.total) in messages
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED
    assert all(type(c).objects.get(pk=c.pk).status == ClaimStatus.APPROVED for c in claims)


def test_a_row_that_differs_from_the_batch_is_reported_by_row_and_column(hangzhou_reviewer, approved_claim):
    claims = [approved_claim(), approved_claim()]
    _batch, data = _exported(hangzhou_reviewer, claims)
    with pytest.raises(ImportRejected) as exc:
        batch_import_results(upload=result_file(data, amounts={2: 1.0}), actor=hangzhou_reviewer)
    assert {(e["row"], e["column"]) for e in exc.value.detail["errors"]} == {(3, "金额（元）")}


def test_a_failed_claim_goes_into_a_later_batch_and_nothing_is_paid_twice(hangzhou_reviewer, approved_claim):
    claims = [approved_claim(), approved_claim()]
    _batch, data = _exported(hangzhou_reviewer, claims)
    batch_import_results(upload=result_file(data, failures={2: "账号错误"}), actor=hangzhou_reviewer)
    paid, failed = (type(c).objects.get(pk=c.pk) for c in claims)
    # The trainee corrects the account; the reviewer takes it onto the claim.
    trainee_set_payee_account(
        trainee=failed.trainee,
        kind="bank",
        bank_name="中国银行杭州分行",
        account="6216601234567890",
        actor=failed.trainee.user,
    )
    failed = claim_refresh_payee_account(claim=failed, actor=hangzhou_reviewer)
    with pytest.raises(ApplicationError):  # the paid claim cannot be paid again
        batch_create(actor=hangzhou_reviewer, claims=[paid, failed])
    later, later_file = _exported(hangzhou_reviewer, [failed])
    assert later.items.get().payee_account == "6216601234567890"
    batch_import_results(upload=result_file(later_file), actor=hangzhou_reviewer)
    failed.refresh_from_db()
    assert failed.status == ClaimStatus.PAID and failed.voucher_number == f"{later.number}-0001"
    assert PaymentItem.objects.filter(claim=failed, result=ItemResult.PAID).count() == 1
    assert PaymentItem.objects.filter(result=ItemResult.PAID).count() == 2


def test_a_result_for_a_batch_not_yet_exported_is_refused(hangzhou_reviewer, approved_claim):
    claim = approved_claim()
    batch = batch_create(actor=hangzhou_reviewer, claims=[claim]).batch
    data = bank_file(batch)  # printed but never marked exported
    with pytest.raises(ImportRejected):
        batch_import_results(upload=result_file(data), actor=hangzhou_reviewer, batch=batch)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED


def test_another_bureau_cannot_import_a_hangzhou_result(hangzhou_reviewer, ningbo_reviewer, approved_claim):
    batch, data = _exported(hangzhou_reviewer, [approved_claim()])
    with pytest.raises(ApplicationError):
        batch_import_results(upload=result_file(data), actor=ningbo_reviewer)
    with pytest.raises(ApplicationError):
        batch_import_results(upload=result_file(data), actor=ningbo_reviewer, batch=batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED


def test_a_payment_date_in_the_future_is_reported_on_its_cell(hangzhou_reviewer, approved_claim):
    _batch, data = _exported(hangzhou_reviewer, [approved_claim()])
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    with pytest.raises(ImportRejected) as exc:
        batch_import_results(upload=result_file(data, paid_on=tomorrow), actor=hangzhou_reviewer)
    assert [(e["row"], e["column"]) for e in exc.value.detail["errors"]] == [(2, "拨付日期")]
    today = datetime.date.today()
    batch_import_results(upload=result_file(data, paid_on=today), actor=hangzhou_reviewer)


def test_the_database_refuses_a_second_paid_row_for_a_claim(hangzhou_reviewer, approved_claim):
    claim = approved_claim()
    _batch, data = _exported(hangzhou_reviewer, [claim])
    batch_import_results(upload=result_file(data), actor=hangzhou_reviewer)
    item = PaymentItem.objects.get(claim=claim)
    other = PaymentBatch.objects.create(
        number="X-2", bureau=item.batch.bureau, created_at=item.batch.created_at, created_by=hangzhou_reviewer
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentItem.objects.create(
            batch=other,
            claim=claim,
            row=1,
            amount=claim.amount,
            payee_name="x",
            payee_resident_id="x",
            payee_bank="x",
            payee_account="x",
            is_pending=False,
            result=ItemResult.PAID,
            result_at=item.result_at,
        )
