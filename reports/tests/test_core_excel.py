"""core.excel: the project's own SpreadsheetML form writer, read back with openpyxl."""

import ast
import datetime
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from core.excel import (
    DATE,
    ID_TEXT,
    INTEGER,
    MONEY,
    TEXT,
    WRAP_TEXT,
    Column,
    Form,
    FormWorkbook,
    compile_row_writer,
    display_width,
    safe_text,
    write_form,
)

ROOT = Path(__file__).resolve().parents[2]

COLUMNS = [
    Column("序号", 6, INTEGER),
    Column("姓名", 10, TEXT),
    Column("身份证号码", 21, ID_TEXT),
    Column("培训机构", 18, WRAP_TEXT),
    Column("金额（元）", 12, MONEY, total=True),
    Column("发证日期", 12, DATE),
]
ROWS = [
    (
        1,
        "王小明",
        "11010519491231002X",
        "示例数字技能培训学校",
        Decimal("2200.00"),
        datetime.date(2024, 5, 3),
    ),
    (2, '=HYPERLINK("http://evil.example/","点我")', "330102199001011234", None, Decimal("3700"), None),
    (3, "-2", "330102199001011234", "a & b <c>", Decimal("5200.50"), datetime.date(2024, 2, 29)),
    (4, "\x01@SUM(A1)", "330102199001011234", " 带空格 ", None, datetime.date(2023, 9, 16)),
]


def write(tmp_path, rows=ROWS, columns=COLUMNS, **form):
    path = tmp_path / "form.xlsx"
    write_form(
        path,
        form=Form(
            title="杭州市人社局 测试表（2024年5月）", columns=columns, prepared_on="2024年6月1日", **form
        ),
        rows=rows,
        sheet_name="明细",
    )
    return path


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("=1+1", "=1+1"),  # kept as typed: the cell is a string, shown with the quote prefix
        ("-2", "-2"),
        ("#N/A", "#N/A"),
        ("\x01=cmd", "=cmd"),  # illegal characters stripped
        ("a\ufffeb", "ab"),
        ("王小明", "王小明"),
        ("", ""),
        (None, None),
    ],
)
def test_safe_text_strips_illegal_characters_and_adds_nothing(raw, written):
    assert safe_text(raw) == written


def test_safe_text_truncates_to_the_cell_limit():
    assert len(safe_text("字" * 40000)) == 32767


def test_values_read_back_exactly_and_formula_like_text_gets_the_quote_prefix_style(tmp_path):
    ws = openpyxl.load_workbook(write(tmp_path))["明细"]
    first = 3  # title, column titles
    names = [ws.cell(row=first + i, column=2) for i in range(4)]
    assert [c.value for c in names] == [
        "王小明",
        '=HYPERLINK("http://evil.example/","点我")',
        "-2",
        "@SUM(A1)",
    ]
    assert [c.data_type for c in names] == ["s", "s", "s", "s"]  # never a formula
    assert [c.quotePrefix for c in names] == [False, True, True, True]
    assert ws.cell(row=first, column=3).value == "11010519491231002X"
    assert ws.cell(row=first, column=3).number_format == "@"
    assert ws.cell(row=first, column=5).value == 2200
    assert ws.cell(row=first, column=5).number_format == "#,##0.00"
    assert ws.cell(row=first, column=6).value == datetime.datetime(2024, 5, 3)
    assert ws.cell(row=first + 2, column=6).value == datetime.datetime(2024, 2, 29)
    assert ws.cell(row=first + 2, column=4).value == "a & b <c>"
    assert ws.cell(row=first + 3, column=4).value == " 带空格 "
    assert ws.cell(row=first + 1, column=4).value is None
    assert ws.cell(row=first, column=4).alignment.wrap_text is True


def test_form_page_setup_borders_total_row_and_signature_block(tmp_path):
    ws = openpyxl.load_workbook(write(tmp_path))["明细"]
    assert ws.page_setup.paperSize == 9  # A4
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert ws.print_title_rows == "$1:$2"
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    assert ws.freeze_panes == "A3"
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    # Every data cell and the totals row bordered (empty ones included).
    for row in ws.iter_rows(min_row=2, max_row=7, max_col=6):
        for cell in row:
            assert cell.border.left.style == "thin", cell.coordinate
            assert cell.border.bottom.style == "thin", cell.coordinate
    total = [c.value for c in ws[7]]
    assert total[0] == "合计" and total[4] == 11100.5
    texts = [c.value for row in ws.iter_rows(min_row=8) for c in row if c.value]
    assert texts == ["制表人：", "审核人：", "负责人：", "制表日期：2024年6月1日", "（盖章）"]
    for label in texts:
        cell = next(c for row in ws.iter_rows(min_row=8) for c in row if c.value == label)
        assert cell.border.left.style is None  # the signature block is outside the table


def test_summary_first_whatever_the_order_written(tmp_path):
    path = tmp_path / "two.xlsx"
    with FormWorkbook(path) as wb:
        summary = wb.add_sheet("汇总")
        detail = wb.add_sheet("明细")
        wb.write_sheet(detail, Form(title="t", columns=COLUMNS), ROWS)
        wb.write_sheet(summary, Form(title="t", columns=COLUMNS[:2]), [(1, "x")])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["汇总", "明细"]
    assert book.active.title == "汇总"


def test_a_workbook_with_a_sheet_never_written_is_refused(tmp_path):
    wb = FormWorkbook(tmp_path / "x.xlsx")
    wb.add_sheet("a")
    with pytest.raises(ValueError, match="never written"):
        wb.close()


def test_a_date_column_refuses_a_datetime():
    write_row = compile_row_writer([DATE])
    with pytest.raises(TypeError):
        write_row([datetime.datetime(2024, 1, 1, 8, 0)], 1)


def test_display_width_counts_chinese_characters_twice():
    assert display_width("学校所在地（毕业年度毕业生）") == 28
    assert display_width("11010519491231002X") == 18


# ----------------------------------------------------------------- one path, whatever is installed

_WRITE_SCRIPT = """
import sys
{block}
sys.path.insert(0, {root!r})
import datetime
from decimal import Decimal
from core.excel import Column, Form, write_form, INTEGER, TEXT, ID_TEXT, MONEY, DATE
write_form({target!r}, form=Form(title="t", columns=[Column("a", 6, INTEGER), Column("b", 10, TEXT),
    Column("c", 20, ID_TEXT), Column("d", 10, MONEY, total=True), Column("e", 12, DATE)]),
    rows=[(i, "=x%d" % i, "11010519491231002X", Decimal("1.5"), datetime.date(2024, 1, 1)) for i in range(50)],
    sheet_name="s")
print(sys.modules.get("openpyxl") is not None, sys.modules.get("lxml") is not None)
"""


def _write_in_child(block: str, target: Path) -> tuple[dict, str]:
    result = subprocess.run(
        [sys.executable, "-c", _WRITE_SCRIPT.format(block=block, root=str(ROOT), target=str(target))],
        capture_output=True,
        text=True,
        check=True,
    )
    with zipfile.ZipFile(target) as z:
        # Every part but the creation time.
        parts = {name: z.read(name) for name in z.namelist() if name != "docProps/core.xml"}
    return parts, result.stdout.strip()


def test_the_writer_takes_one_path_with_and_without_lxml_or_openpyxl(tmp_path):
    """The same bytes with lxml importable and imported, and with lxml and openpyxl blocked:
    the writer depends on neither, so nothing installed can switch it to a slower path."""
    pytest.importorskip("lxml")  # a dev dependency (requirements.lock)
    with_lxml, loaded = _write_in_child("import lxml.etree, openpyxl", tmp_path / "with.xlsx")
    assert loaded == "True True"
    without, loaded = _write_in_child(
        "sys.modules['lxml'] = None; sys.modules['openpyxl'] = None", tmp_path / "without.xlsx"
    )
    assert loaded == "False False"
    assert with_lxml == without
    assert b"<row" in without["xl/worksheets/sheet1.xml"]
    book = openpyxl.load_workbook(tmp_path / "without.xlsx")
    assert book.active.cell(row=3, column=2).value == "=x0"
    assert book.active.cell(row=3, column=2).quotePrefix is True


SPREADSHEET_LIBRARIES = ("openpyxl", "xlsxwriter", "et_xmlfile", "lxml")
# Django's documented underscore names (Model._meta, instance._state, managers), not a library's.
DJANGO_PUBLIC_UNDERSCORE = {"_meta", "_state", "_default_manager", "_base_manager"}


def _project_files():
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if (
            parts[0].startswith(".")
            or parts[0] in ("node_modules", "staticfiles", "media")
            or "migrations" in parts
        ):
            continue
        yield path


def test_no_private_name_of_a_spreadsheet_library_is_used_anywhere_in_the_project():
    offences = []
    for path in _project_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        library_names = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] in SPREADSHEET_LIBRARIES
            ):
                if any(part.startswith("_") for part in node.module.split(".")):
                    offences.append(f"{path}:{node.lineno} from {node.module}")
                for alias in node.names:
                    if alias.name.startswith("_"):
                        offences.append(f"{path}:{node.lineno} import {alias.name}")
                    library_names.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in SPREADSHEET_LIBRARIES:
                        if any(part.startswith("_") for part in alias.name.split(".")):
                            offences.append(f"{path}:{node.lineno} import {alias.name}")
                        library_names.add((alias.asname or alias.name).split(".")[0])
        if not library_names:
            continue
        # In a module that uses such a library, no single-underscore attribute at all: on a
        # workbook, sheet or cell it would be the library's private state.
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in DJANGO_PUBLIC_UNDERSCORE
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                offences.append(f"{path}:{node.lineno} .{node.attr}")
    assert offences == []


def test_the_writer_module_imports_no_spreadsheet_library():
    tree = ast.parse((ROOT / "core" / "excel.py").read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & set(SPREADSHEET_LIBRARIES)
