"""core.excel: safe cell values and atomic publication of a file."""

import datetime
import hashlib

import openpyxl
import pytest
from openpyxl import Workbook

from core.excel import AtomicFile, date_column, excel_date, safe_text, text_column


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("#N/A", "'#N/A"),
        ("\x01=cmd", "'=cmd"),  # stripped first, then neutralised
        ("王小明", "王小明"),
        ("11010519491231002X", "11010519491231002X"),
        ("", ""),
        (None, None),
    ],
)
def test_safe_text(raw, written):
    assert safe_text(raw) == written


def test_safe_text_truncates_to_the_cell_limit():
    assert len(safe_text("字" * 40000)) == 32767


def test_safe_values_round_trip_through_openpyxl_as_text(tmp_path):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("t")
    ids = text_column(ws)
    dates = date_column(ws)
    values = ["=HYPERLINK(1)", "-1", "#REF!", "a\x0bb"]
    for value in values:
        ws.append([safe_text(value), ids(safe_text("00123")), dates(excel_date(datetime.date(1900, 3, 1)))])
    wb.save(tmp_path / "t.xlsx")

    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx").worksheets[0].iter_rows())
    assert [r[0].value for r in rows] == ["'=HYPERLINK(1)", "'-1", "'#REF!", "ab"]
    assert {r[0].data_type for r in rows} == {"s"}
    assert rows[0][1].value == "00123" and rows[0][1].data_type == "s"  # leading zeros kept
    assert rows[0][2].value == datetime.datetime(1900, 3, 1)


def test_atomic_file_publishes_only_on_success_with_its_checksum(tmp_path):
    target = tmp_path / "out" / "report.xlsx"
    with AtomicFile(target) as handle:
        handle.temp_path.write_bytes(b"complete")
        assert not target.exists()  # nothing visible while writing
    assert target.read_bytes() == b"complete"
    assert handle.checksum == hashlib.sha256(b"complete").hexdigest()
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.xlsx"]


def test_atomic_file_leaves_nothing_on_failure_and_keeps_an_older_file(tmp_path):
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), AtomicFile(target) as handle:
        handle.temp_path.write_bytes(b"half")
        raise RuntimeError("stop")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]
