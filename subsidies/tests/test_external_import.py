"""Importing other training subsidies: every row checked, all-or-nothing, idempotent."""

import datetime
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from core.errors import ApplicationError, NotPermitted
from core.identity import generate_resident_id
from subsidies.models import ExternalSubsidyRecord
from subsidies.services import external_subsidy_import

pytestmark = pytest.mark.django_db

GOOD_ID = generate_resident_id(sequence=11)
OTHER_ID = generate_resident_id(sequence=12)


def _row(**overrides):
    row = {
        "resident_id": GOOD_ID,
        "name": "张三",
        "kind": "技能提升补贴",
        "grant_date": "2025-02-01",
        "amount": "1500",
        "city": "330100",
    }
    return {**row, **overrides}


def test_valid_rows_are_imported_with_their_city(hangzhou):
    result = external_subsidy_import(rows=[_row(), _row(resident_id=OTHER_ID, city="")], actor=None)
    assert (result.created, result.skipped) == (2, 0)
    record = ExternalSubsidyRecord.objects.get(resident_id=GOOD_ID)
    assert (record.grant_date, record.amount, record.city) == (
        datetime.date(2025, 2, 1),
        Decimal("1500"),
        hangzhou,
    )


def test_every_bad_row_is_reported_with_its_number_and_nothing_is_written(hangzhou):
    rows = [
        _row(),
        _row(resident_id="330102199001010000"),  # wrong check character
        _row(grant_date="2025-13-01", amount="-5"),
        _row(city="999999"),
    ]
    with pytest.raises(ApplicationError) as exc:
        external_subsidy_import(rows=rows, actor=None)
    assert exc.value.code == "import_invalid"
    errors = {e["row"]: set(e["errors"]) for e in exc.value.detail["errors"]}
    assert errors == {2: {"resident_id"}, 3: {"grant_date", "amount"}, 4: {"city"}}
    assert ExternalSubsidyRecord.objects.count() == 0


def test_importing_the_same_rows_twice_changes_nothing(hangzhou):
    external_subsidy_import(rows=[_row()], actor=None)
    result = external_subsidy_import(rows=[_row()], actor=None)
    assert (result.created, result.skipped) == (0, 1)
    assert ExternalSubsidyRecord.objects.count() == 1


def test_a_trainee_may_not_import(trainee_user):
    with pytest.raises(NotPermitted):
        external_subsidy_import(rows=[_row()], actor=trainee_user)


def test_the_command_imports_an_xlsx_file_with_chinese_headers(tmp_path, hangzhou, capsys):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["身份证号码", "姓名", "补贴类型", "发放日期", "金额", "发放地"])
    sheet.append([GOOD_ID, "张三", "技能提升补贴", datetime.datetime(2025, 2, 1), 1500, "杭州市"])
    path = tmp_path / "other.xlsx"
    book.save(path)
    call_command("import_external_subsidies", str(path))
    assert "created=1" in capsys.readouterr().out
    assert ExternalSubsidyRecord.objects.get().city == hangzhou


def test_the_command_reports_bad_rows_of_a_csv_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "other.csv"
    path.write_text(
        "resident_id,name,kind,grant_date,amount\n"
        f"{GOOD_ID},张三,技能提升补贴,2025-02-01,1500\n"
        f"{OTHER_ID},,技能提升补贴,2025-02-01,abc\n",
        encoding="utf-8-sig",
    )
    with pytest.raises(CommandError):
        call_command("import_external_subsidies", str(path))
    assert "row 3" in capsys.readouterr().err
    assert ExternalSubsidyRecord.objects.count() == 0
