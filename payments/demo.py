"""Demo payment batches (called once from the demo loader, after the claims exist).

Hangzhou's approved claims get payee accounts; one batch is paid with one failure (a closed
account), one is exported and waits for the bank; the rest stay approved for the reviewer to
batch. Everything goes through the services, as in real use.
"""

from __future__ import annotations

import io

import openpyxl

from accounts.models import User
from payments.exports import bank_file
from payments.imports import batch_import_results
from payments.services import batch_create, batch_mark_exported
from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.services import claim_copy_payee_account
from trainees.services import trainee_set_payee_account

BANKS = ("中国工商银行杭州分行", "中国建设银行杭州分行", "杭州银行", "中国农业银行杭州分行")


def demo_payee_accounts(*, city_code: str, reviewer: User, province: User) -> list[SubsidyClaim]:
    """A payee account (fictional numbers) for each trainee with an approved claim at the bureau,
    copied onto the claims; returns those claims."""
    claims = list(
        SubsidyClaim.objects.filter(bureau__city__code=city_code, status=ClaimStatus.APPROVED)
        .select_related("trainee")
        .order_by("id")
    )
    for n, claim in enumerate(claims):
        if not claim.trainee.has_payee_account:
            trainee_set_payee_account(
                trainee=claim.trainee,
                kind="ssc" if n % 3 == 0 else "bank",
                bank_name=BANKS[n % len(BANKS)],
                account=f"6217{city_code}{claim.trainee_id:09d}",
                actor=province,
            )
        claim_copy_payee_account(claim=claim, actor=reviewer)
    return claims


def _answer(data: bytes, *, failed_row: int, reason: str) -> bytes:
    """The bank's result file: our bank file with 结果 and 失败原因 filled in."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    result_col = sheet.max_column + 1
    sheet.cell(row=1, column=result_col, value="结果")
    sheet.cell(row=1, column=result_col + 1, value="失败原因")
    for row in range(2, sheet.max_row + 1):
        number = sheet.cell(row=row, column=1).value
        if isinstance(number, int):
            sheet.cell(row=row, column=result_col, value="失败" if number == failed_row else "成功")
            if number == failed_row:
                sheet.cell(row=row, column=result_col + 1, value=reason)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def load_demo_payments() -> None:
    reviewer = User.objects.get(username="hz_reviewer")
    province = User.objects.get(username="province")
    claims = demo_payee_accounts(city_code="330100", reviewer=reviewer, province=province)
    if len(claims) < 2:
        return
    half = max(2, len(claims) // 2)
    reconciled = batch_create(actor=reviewer, claims=claims[:half]).batch
    reconciled = batch_mark_exported(batch=reconciled, actor=reviewer)
    batch_import_results(
        upload=_answer(bank_file(reconciled), failed_row=half, reason="账户已销户"), actor=reviewer
    )
    waiting = claims[half : half + 2]
    if waiting:
        batch_mark_exported(batch=batch_create(actor=reviewer, claims=waiting).batch, actor=reviewer)
