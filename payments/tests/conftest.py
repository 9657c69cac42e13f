"""Builders for payment tests: approved claims of the Hangzhou bureau with payee accounts,
and the bank's result file made from our own bank file."""

import io
import itertools

import openpyxl
import pytest

from accounts.models import Role
from accounts.tests.factories import UserFactory
from subsidies.models import ClaimStatus
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

_accounts = itertools.count(1)


@pytest.fixture
def approved_claim(hangzhou_bureau, hangzhou):
    """``approved_claim(payee=True, login=True)``: an approved claim filed to Hangzhou."""

    def make(*, payee: bool = True, login: bool = True, **fields):
        n = next(_accounts)
        user = UserFactory(username=f"payee{n}", role=Role.TRAINEE) if login else None
        trainee = TraineeFactory(household_city=hangzhou, user=user)
        from certificates.tests.factories import LevelCertificateFactory

        level = LevelCertificateFactory(
            assessment__training_certificate__enrolment__trainee=trainee,
        )
        payee_fields = (
            {"payee_kind": "bank", "payee_bank": "中国工商银行杭州分行", "payee_account": f"622202{n:013d}"}
            if payee
            else {}
        )
        fields.setdefault("status", ClaimStatus.APPROVED)
        return SubsidyClaimFactory(level_certificate=level, **payee_fields, **fields)

    return make


def result_file(
    bank_file: bytes, *, failures: dict[int, str] | None = None, drop_rows=(), amounts=None, paid_on=None
) -> bytes:
    """The bank's answer: our bank file with 结果 and 失败原因 filled in for every row.

    ``failures`` maps 序号 to the bank's reason; ``drop_rows`` leaves rows out; ``amounts``
    overrides the amount of some rows (a tampered file)."""
    failures = failures or {}
    amounts = amounts or {}
    workbook = openpyxl.load_workbook(io.BytesIO(bank_file))
    sheet = workbook.active
    result_col, reason_col = sheet.max_column + 1, sheet.max_column + 2
    sheet.cell(row=1, column=result_col, value="结果")
    sheet.cell(row=1, column=reason_col, value="失败原因")
    if paid_on is not None:
        sheet.cell(row=1, column=reason_col + 1, value="拨付日期")
    for row in range(sheet.max_row, 1, -1):
        number = sheet.cell(row=row, column=1).value
        if not isinstance(number, int):
            continue
        if number in drop_rows:
            sheet.delete_rows(row)
            continue
        sheet.cell(row=row, column=result_col, value="失败" if number in failures else "成功")
        if number in failures:
            sheet.cell(row=row, column=reason_col, value=failures[number])
        if paid_on is not None:
            sheet.cell(row=row, column=reason_col + 1, value=paid_on)
        if number in amounts:
            sheet.cell(row=row, column=6, value=amounts[number])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
