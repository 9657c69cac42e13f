"""Hostile .xlsx uploads: each is refused with a clear message or imported, in under 300 MB
of peak memory. Every file is generated here, byte by byte, and read in a fresh Python
process whose peak resident memory (``ru_maxrss``) is what the test measures."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import zipfile
from pathlib import Path

from django.conf import settings

PEAK_LIMIT_MB = 300

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "{overrides}</Types>"
)
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
STYLES_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
REL_BASE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


def _col(n: int) -> str:
    name = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(65 + rem) + name
    return name


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_xlsx(
    path: Path,
    *,
    rows=None,
    sheets: int = 1,
    shared_strings=None,
    styles=None,
    dimension: str | None = None,
    sheet_prefix: str = "",
) -> Path:
    """A minimal workbook. ``rows`` yields row XML strings (streamed into the zip);
    ``shared_strings`` and ``styles`` yield the raw parts, chunk by chunk."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>'
        for i in range(1, sheets + 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_BASE}worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, sheets + 1)
    )
    if shared_strings is not None:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{STRINGS_TYPE}"/>'
        rels += f'<Relationship Id="rIdS" Type="{REL_BASE}sharedStrings" Target="sharedStrings.xml"/>'
    if styles is not None:
        overrides += f'<Override PartName="/xl/styles.xml" ContentType="{STYLES_TYPE}"/>'
        rels += f'<Relationship Id="rIdY" Type="{REL_BASE}styles" Target="styles.xml"/>'
    sheet_list = "".join(f'<sheet name="S{i}" sheetId="{i}" r:id="rId{i}"/>' for i in range(1, sheets + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES.format(overrides=overrides))
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", f"<workbook {NS} {REL_NS}><sheets>{sheet_list}</sheets></workbook>")
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}</Relationships>",
        )
        for i in range(1, sheets + 1):
            with z.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as part:
                part.write(f"{sheet_prefix}<worksheet {NS}>".encode())
                if dimension:
                    part.write(f'<dimension ref="{dimension}"/>'.encode())
                part.write(b"<sheetData>")
                if i == 1:
                    for row in rows or ():
                        part.write(row.encode())
                part.write(b"</sheetData></worksheet>")
        z.compresslevel = 9  # the bombs: as small as deflate makes them
        for name, chunks in (("xl/sharedStrings.xml", shared_strings), ("xl/styles.xml", styles)):
            if chunks is not None:
                with z.open(name, "w", force_zip64=True) as part:
                    for chunk in chunks:
                        part.write(chunk.encode() if isinstance(chunk, str) else chunk)
    return path


def header_and(rows):
    yield '<row r="1">' + _cell("A1", "姓名") + "</row>"
    yield from rows


def name_rows(count: int, start: int = 2):
    for r in range(start, start + count):
        yield f'<row r="{r}">{_cell(f"A{r}", f"张{r}")}</row>'


PROBE = """
import json, resource, sys
import django
django.setup()
from core.xlsx_import import ImportRejected, ImportSpec, TextColumn, parse_workbook

class Names(ImportSpec):
    slug = "names"
    columns = [TextColumn("name", "姓名", max_length=50)]

try:
    rows, errors = parse_workbook(Names(), sys.argv[1], {})
    outcome = {"outcome": "parsed", "rows": len(rows), "errors": len(errors)}
except ImportRejected as exc:
    outcome = {"outcome": "rejected", "code": exc.code, "message": str(exc.message)}
# VmHWM: the peak of this process's own memory since exec. ru_maxrss would also count the
# pages of the parent (pytest) this process was forked from.
try:
    with open("/proc/self/status") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    outcome["peak_mb"] = int(hwm.split()[1]) / 1024
except OSError:
    outcome["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(outcome, ensure_ascii=False))
"""


def read_in_fresh_process(path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["peak_mb"] < PEAK_LIMIT_MB, outcome
    return outcome


def assert_refused(outcome: dict, code: str) -> None:
    assert outcome["outcome"] == "rejected", outcome
    assert outcome["code"] == code, outcome
    # A Chinese message that says what to do, not a parser's English.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in outcome["message"]), outcome


def test_an_ordinary_workbook_is_read(tmp_path):
    outcome = read_in_fresh_process(write_xlsx(tmp_path / "ok.xlsx", rows=header_and(name_rows(500))))
    assert outcome == {**outcome, "outcome": "parsed", "rows": 500, "errors": 0}


def test_a_shared_strings_bomb_is_refused_unparsed(tmp_path):
    # 390 MB of strings unpacked (the size that took 3.6 GB), well under a megabyte packed.
    chunk = "<si><t>a</t></si>" * 50_000

    def strings():
        yield f'<sst {NS} count="17000000" uniqueCount="17000000">'
        for _ in range(390 * 1024 * 1024 // len(chunk)):
            yield chunk
        yield "</sst>"

    path = write_xlsx(tmp_path / "bomb.xlsx", rows=header_and([]), shared_strings=strings())
    assert path.stat().st_size < settings.XLSX_IMPORT_MAX_BYTES
    assert_refused(read_in_fresh_process(path), "workbook_too_complex")


def test_a_string_table_just_under_the_limit_is_read_within_the_memory_bound(tmp_path):
    # About 1.6 million tiny distinct strings: the most Python objects per byte of XML.
    limit = 16 * 1024 * 1024
    count = limit // len("<si><t>0000000</t></si>") - 10

    def strings():
        yield f'<sst {NS} count="{count}" uniqueCount="{count}">'
        for start in range(0, count, 10_000):
            yield "".join(f"<si><t>{i:07d}</t></si>" for i in range(start, min(count, start + 10_000)))
        yield "</sst>"

    rows = ['<row r="1"><c r="A1" t="s"><v>0</v></c></row>'] + [
        f'<row r="{r}"><c r="A{r}" t="s"><v>{r}</v></c></row>' for r in range(2, 1002)
    ]
    outcome = read_in_fresh_process(
        write_xlsx(tmp_path / "strings.xlsx", rows=rows, shared_strings=strings())
    )
    # The header cell is the string "0000000", not 姓名: refused for its columns, after reading.
    assert_refused(outcome, "columns_invalid")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + f"]><sst {NS}><si><t>&lol9;</t></si></sst>"
)


def test_entity_expansion_in_the_string_table_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "laughs.xlsx", rows=header_and([]), shared_strings=[BILLION_LAUGHS])
    assert_refused(read_in_fresh_process(path), "unsafe_workbook")


def test_a_dtd_in_a_worksheet_is_refused(tmp_path):
    prefix = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    path = write_xlsx(tmp_path / "dtd.xlsx", rows=header_and(name_rows(3)), sheet_prefix=prefix)
    assert_refused(read_in_fresh_process(path), "unsafe_workbook")


def test_a_dtd_hidden_behind_a_long_comment_is_still_refused(tmp_path):
    # Past the 64 KB prefix that is scanned: defusedxml refuses the entity while rows are read.
    prefix = '<?xml version="1.0"?><!--' + "x" * 100_000 + '--><!DOCTYPE x [<!ENTITY e "boom">]>'
    path = write_xlsx(tmp_path / "dtd-late.xlsx", rows=header_and(name_rows(3)), sheet_prefix=prefix)
    assert_refused(read_in_fresh_process(path), "not_an_xlsx")


def test_a_million_row_sheet_is_refused_at_the_row_limit_blank_rows_included(tmp_path):
    # A few names, then a million rows with an empty cell each: blank rows count too, or
    # the reader would walk all of them.
    blank = (
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t></t></is></c></row>' for r in range(52, 1_000_052)
    )
    path = write_xlsx(tmp_path / "million.xlsx", rows=header_and(itertools.chain(name_rows(50), blank)))
    assert_refused(read_in_fresh_process(path), "too_many_rows")


def test_a_header_16384_columns_wide_is_refused(tmp_path):
    header = '<row r="1">' + "".join(_cell(f"{_col(c)}1", f"列{c}") for c in range(16_384)) + "</row>"
    outcome = read_in_fresh_process(write_xlsx(tmp_path / "wide-header.xlsx", rows=[header]))
    assert_refused(outcome, "columns_invalid")


def test_data_rows_16384_columns_wide_under_a_full_width_dimension_are_read_by_their_first_columns(tmp_path):
    wide = (
        f'<row r="{r}">'
        + _cell(f"A{r}", f"王{r}")
        + "".join(_cell(f"{_col(c)}{r}", "") for c in range(1, 16_384))
        + "</row>"
        for r in range(2, 7)
    )
    path = write_xlsx(tmp_path / "wide.xlsx", rows=header_and(wide), dimension="A1:XFD1048576")
    outcome = read_in_fresh_process(path)
    assert outcome["outcome"] == "parsed", outcome
    assert outcome["rows"] == 5


def test_huge_styles_are_refused_unparsed(tmp_path):
    xf = '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'

    def styles():
        yield f"<styleSheet {NS}><cellXfs>"
        for _ in range(20 * 1024 * 1024 // (len(xf) * 1000)):
            yield xf * 1000
        yield "</cellXfs></styleSheet>"

    path = write_xlsx(tmp_path / "styles.xlsx", rows=header_and(name_rows(3)), styles=styles())
    assert_refused(read_in_fresh_process(path), "workbook_too_complex")


def test_hundreds_of_sheets_are_refused(tmp_path):
    path = write_xlsx(tmp_path / "sheets.xlsx", rows=header_and(name_rows(3)), sheets=500)
    assert_refused(read_in_fresh_process(path), "workbook_too_complex")


def test_a_truncated_workbook_is_refused_as_not_an_xlsx(tmp_path):
    good = write_xlsx(tmp_path / "good.xlsx", rows=header_and(name_rows(200)))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert_refused(read_in_fresh_process(bad), "not_an_xlsx")


def test_broken_xml_inside_the_rows_is_refused_as_not_an_xlsx(tmp_path):
    rows = list(header_and(name_rows(5))) + [
        '<row r="7"><c r="A7" t="inlineStr"><is><t>unclosed</is></c></row>'
    ]
    assert_refused(read_in_fresh_process(write_xlsx(tmp_path / "broken.xlsx", rows=rows)), "not_an_xlsx")
