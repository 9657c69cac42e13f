"""Importing other training subsidies: one parser for every door, every row checked,
all-or-nothing, idempotent."""

import datetime
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.translation import gettext

from core.errors import NotPermitted
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from core.xlsx_import import ImportRejected, ImportResult, run_import
from subsidies.imports import ExternalSubsidyImport
from subsidies.models import ExternalSubsidyRecord
from subsidies.services import ExternalSubsidyRow, external_subsidy_import
from trainees.tests.xlsx import xlsx_bytes

pytestmark = pytest.mark.django_db

GOOD_ID = generate_resident_id(sequence=11)
OTHER_ID = generate_resident_id(sequence=12)
HEADER = ["身份证号码", "姓名", "补贴类型", "发放日期", "金额（元）", "发放地", "文号"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _row(**overrides):
    values = {
        "resident_id": GOOD_ID,
        "name": "张三",
        "kind": "技能提升补贴",
        "grant_date": datetime.date(2025, 2, 1),
        "amount": Decimal("1500"),
        "city": None,
    }
    return ExternalSubsidyRow(**{**values, **overrides})


def _cells(resident_id=GOOD_ID, name="张三", grant_date="2025-02-01", amount="1500", city="330100"):
    return [resident_id, name, "技能提升补贴", grant_date, amount, city, ""]


# -- the service: rows already clean ------------------------------------------------------


def test_valid_rows_are_recorded_with_their_city(hangzhou):
    result = external_subsidy_import(rows=[_row(city=hangzhou), _row(resident_id=OTHER_ID)], actor=None)
    assert isinstance(result, ImportResult)
    assert (result.created, result.unchanged) == (2, 0)
    record = ExternalSubsidyRecord.objects.get(**blind_lookup(ExternalSubsidyRecord, "resident_id", GOOD_ID))
    assert (record.grant_date, record.amount, record.city) == (
        datetime.date(2025, 2, 1),
        Decimal("1500"),
        hangzhou,
    )
    assert (
        ExternalSubsidyRecord.objects.get(**blind_lookup(ExternalSubsidyRecord, "resident_id", OTHER_ID)).city
        is None
    )


def test_a_row_without_a_city_is_the_reviewers_own_citys_grant(hangzhou_reviewer, hangzhou):
    external_subsidy_import(rows=[_row()], actor=hangzhou_reviewer)
    assert ExternalSubsidyRecord.objects.get().city == hangzhou


def test_importing_the_same_rows_twice_changes_nothing(hangzhou):
    external_subsidy_import(rows=[_row()], actor=None)
    result = external_subsidy_import(rows=[_row(), _row()], actor=None)
    assert (result.created, result.unchanged) == (0, 1)
    assert ExternalSubsidyRecord.objects.count() == 1


def test_a_trainee_may_not_import(trainee_user):
    with pytest.raises(NotPermitted):
        external_subsidy_import(rows=[_row()], actor=trainee_user)
    with pytest.raises(NotPermitted):
        run_import(ExternalSubsidyImport(), xlsx_bytes(HEADER, [_cells()]), ctx={"actor": trainee_user})
    assert ExternalSubsidyRecord.objects.count() == 0


# -- the one parser ------------------------------------------------------------------------


def test_every_bad_cell_is_reported_with_its_row_and_column_and_nothing_is_written(hangzhou):
    rows = [
        _cells(),
        _cells(resident_id="330102199001010000"),  # wrong check character
        _cells(resident_id=OTHER_ID, grant_date="2025-13-01", amount="-5"),
        _cells(resident_id=generate_resident_id(sequence=13), city="999999"),
    ]
    with pytest.raises(ImportRejected) as exc:
        run_import(ExternalSubsidyImport(), xlsx_bytes(HEADER, rows), ctx={"actor": None})
    errors = {}
    for error in exc.value.errors:
        errors.setdefault(error.row, set()).add(error.column)
    column = {key: str(ExternalSubsidyImport().column(key).header) for key in ("resident_id", "grant_date")}
    assert errors == {
        3: {column["resident_id"]},
        4: {column["grant_date"], str(ExternalSubsidyImport().column("amount").header)},
        5: {str(ExternalSubsidyImport().column("city").header)},
    }
    assert ExternalSubsidyRecord.objects.count() == 0


def test_the_same_record_twice_in_one_file_is_refused(hangzhou):
    with pytest.raises(ImportRejected) as exc:
        run_import(ExternalSubsidyImport(), xlsx_bytes(HEADER, [_cells(), _cells()]), ctx={"actor": None})
    assert [e.row for e in exc.value.errors] == [3]


def test_the_admin_page_and_the_command_read_the_same_file_the_same_way(
    tmp_path, hangzhou, provincial_staff, client_of, capsys
):
    """The command's header words (金额, 凭证号) and the template's are one list."""
    header = ["身份证号", "姓名", "补贴种类", "发放日期", "金额", "发放地", "凭证号"]
    good = xlsx_bytes(header, [[GOOD_ID, "张三", "技能提升补贴", "2025-02-01", "1500", "杭州", "JN-1"]])
    bad = xlsx_bytes(header, [[GOOD_ID, "张三", "技能提升补贴", "2025-02-01", "一千五", "杭州", ""]])
    url = reverse("admin:subsidies_externalsubsidyrecord_import")
    client = client_of(provincial_staff)

    refused = client.post(url, {"file": SimpleUploadedFile("bad.xlsx", bad, content_type=XLSX)})
    (tmp_path / "bad.xlsx").write_bytes(bad)
    with pytest.raises(CommandError):
        call_command("import_external_subsidies", str(tmp_path / "bad.xlsx"))
    assert refused.status_code == 400
    assert [(e["row"], e["column"]) for e in refused.context["errors"]] == [(2, "金额（元）")]
    assert gettext("row %(row)d") % {"row": 2} in capsys.readouterr().err

    # The admin page accepts the good file into its preview (nothing written before confirm);
    # the command, with the same parser, imports it.
    accepted = client.post(url, {"file": SimpleUploadedFile("good.xlsx", good, content_type=XLSX)})
    assert accepted.status_code == 200
    assert not ExternalSubsidyRecord.objects.exists()
    (tmp_path / "good.xlsx").write_bytes(good)
    call_command("import_external_subsidies", str(tmp_path / "good.xlsx"))
    assert "created=1 skipped=0" in capsys.readouterr().out
    record = ExternalSubsidyRecord.objects.get()
    assert (record.city, record.reference_number) == (hangzhou, "JN-1")


# -- the management command ------------------------------------------------------------------


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
    assert gettext("row %(row)d") % {"row": 3} in capsys.readouterr().err
    assert ExternalSubsidyRecord.objects.count() == 0


def test_the_command_imports_a_good_csv(tmp_path, capsys):
    path = tmp_path / "other.csv"
    path.write_text(
        f"resident_id,name,kind,grant_date,amount\n{GOOD_ID},张三,技能提升补贴,2025-02-01,1500\n",
        encoding="utf-8-sig",
    )
    call_command("import_external_subsidies", str(path))
    assert "created=1 skipped=0" in capsys.readouterr().out
    assert ExternalSubsidyRecord.objects.get().amount == Decimal("1500")


def test_the_command_refuses_another_kind_of_file(tmp_path):
    path = tmp_path / "other.xls"
    path.write_bytes(b"not a workbook")
    with pytest.raises(CommandError):
        call_command("import_external_subsidies", str(path))
