"""core.excel: safe cell values and atomic publication of a file."""

import datetime
import hashlib
from decimal import Decimal

import openpyxl
import pytest
from openpyxl import Workbook

from core.excel import DATE, ID_TEXT, INTEGER, MONEY, TEXT, AtomicFile, RowLayout, safe_text, streaming_sheet


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


@pytest.fixture(params=["fast", "openpyxl cells"])
def row_path(request, monkeypatch):
    """Both ways a layout row is written: serialised directly, or through openpyxl cells."""
    if request.param == "openpyxl cells":
        import core.excel

        monkeypatch.setattr(core.excel, "LXML", True)  # what happens when lxml is installed
    return request.param


def test_layout_rows_round_trip_through_openpyxl(tmp_path, row_path):
    wb = Workbook(write_only=True)
    ws = streaming_sheet(wb, "t")
    layout = RowLayout(ws, (INTEGER, TEXT, ID_TEXT, DATE, MONEY))
    ws.append(["header"])  # ordinary rows and layout rows mix
    texts = ["=HYPERLINK(1)", "-1", "#REF!", "a\x0bb", "<b>&amp;</b>", " padded "]
    for n, text in enumerate(texts, 1):
        ws.append_row(layout, (n, text, "00123", datetime.date(1900, 3, 1), Decimal("1234.50")))
    ws.append_row(layout, (None, None, None, None, None))
    wb.save(tmp_path / "t.xlsx")

    rows = list(openpyxl.load_workbook(tmp_path / "t.xlsx").worksheets[0].iter_rows(min_row=2))
    assert [r[0].value for r in rows[:-1]] == list(range(1, len(texts) + 1))
    assert [r[1].value for r in rows[:-1]] == [
        "'=HYPERLINK(1)",
        "'-1",
        "'#REF!",
        "ab",
        "<b>&amp;</b>",
        " padded ",
    ]
    assert {r[1].data_type for r in rows[:-1]} == {"s"}
    first = rows[0]
    assert first[2].value == "00123" and first[2].data_type == "s" and first[2].number_format == "@"
    assert first[3].value == datetime.datetime(1900, 3, 1) and first[3].number_format == "yyyy-mm-dd"
    assert first[4].value == 1234.5 and first[4].number_format == "#,##0.00"
    empty = rows[-1]
    assert [c.value for c in empty] == [None] * 5
    assert empty[3].number_format == "yyyy-mm-dd"  # an empty date keeps its column's format


def test_layout_refuses_a_datetime_in_a_date_column(tmp_path):
    wb = Workbook(write_only=True)
    ws = streaming_sheet(wb, "t")
    layout = RowLayout(ws, (DATE,))
    with pytest.raises(TypeError):
        layout.xml((datetime.datetime(2024, 5, 1, 23, 30),), 1)


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
