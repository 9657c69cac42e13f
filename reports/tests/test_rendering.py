"""The claims report as a person opens and prints it: LibreOffice renders the workbook to PDF
(no repair prompt: a headless conversion fails on a file it would have to repair) and the
pages are checked; the job's own PDF likewise; and every value fits its column."""

import io
import os
import re
import shutil
import subprocess

import pytest
from django.conf import settings
from pypdf import PdfReader

from core.excel import DATE, ID_TEXT, INTEGER, MONEY, TEXT, display_width, wrapped_lines
from reports.builders import CLAIMS_REPORT
from reports.models import JobStatus
from reports.tasks import generate_report
from reports.tests.conftest import load, local

pytestmark = pytest.mark.django_db

ROWS = 40
LONG_INSTITUTION = "杭州市某某区示例数字技能职业培训学校有限责任公司（第二分校）"


@pytest.fixture
def forty_claims(media, make_claim, hangzhou_bureau):
    from subsidies.models import ClaimBasis, SubsidyClaim

    claims = [make_claim(decided_at=local(2024, 5, 1 + i % 28, 9, i)) for i in range(ROWS)]
    # The longest label a column holds, and a long institution name: both must fit or wrap.
    first = claims[0]
    SubsidyClaim.objects.filter(pk=first.pk).update(basis=ClaimBasis.SCHOOL)
    institution = first.training_certificate.institution
    institution.name = LONG_INSTITUTION
    institution.save(update_fields=["name"])
    return claims


@pytest.fixture
def claims_report(forty_claims, make_job, hangzhou_bureau):
    job = make_job(bureau=hangzhou_bureau)
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert job.row_count == ROWS
    return job


def soffice():
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        if os.environ.get("CI") or settings.REQUIRE_SERVICES:
            pytest.fail("LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc-nogui")
        print("LibreOffice is not installed: the rendering check is skipped (CI installs it)")
        pytest.skip("LibreOffice (soffice) is not installed; CI installs libreoffice-calc-nogui")
    return binary


def _pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_libreoffice_renders_the_claims_report_to_the_expected_pages_with_nothing_cut(
    claims_report, tmp_path
):
    binary = soffice()
    source = tmp_path / "claims.xlsx"
    source.write_bytes(b"".join(load_bytes(claims_report)))
    profile = tmp_path / "lo-profile"
    result = subprocess.run(
        [
            binary,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    rendered = tmp_path / "claims.pdf"
    assert result.returncode == 0 and rendered.exists(), result.stdout + result.stderr
    pages = _pages_text(rendered.read_bytes())

    summary_pages = [p for p in pages if "审核件数" in p]
    detail_pages = [p for p in pages if "身份证号码" in p]
    assert len(summary_pages) == 1  # the summary on one page
    assert 1 <= len(detail_pages) <= 3  # forty rows, fitted to the page width
    assert len(pages) == len(summary_pages) + len(detail_pages)  # no page of right-hand columns alone
    assert pages[0] in summary_pages  # 汇总 printed first
    for page in detail_pages:
        # One page wide: the first and the last column titles on every page (print titles).
        assert "序号" in page and "拨付日期" in page
    for number, page in enumerate(pages, start=1):
        assert f"第 {number} 页" in page or f"第{number}页" in _squash(page)
        assert "###" not in page  # no number or date too wide for its column
    detail_text = _squash("".join(detail_pages))
    workbook = load(claims_report)
    for row in workbook.worksheets[1].iter_rows(min_row=4, values_only=True):
        if not isinstance(row[0], int):
            continue
        for value in row[1:8]:  # names, numbers and labels: each whole on the page
            assert _squash(str(value)) in detail_text, value
    assert "合计" in detail_text and "（盖章）" in detail_text and "制表人" in detail_text


def load_bytes(job):
    from django.core.files.storage import default_storage

    with default_storage.open(job.file.name, "rb") as fh:
        yield fh.read()


def test_the_jobs_pdf_has_the_summary_first_then_the_detail_with_every_row(claims_report):
    pages = _pages_text(load(claims_report, pdf=True))
    assert "审核件数" in pages[0] and "身份证号码" not in pages[0]
    assert 2 <= len(pages) <= 4
    text = _squash("".join(pages))
    for claim in claims_report_claims(claims_report):
        assert claim in text
    assert f"共{len(pages)}页" in text
    assert text.count("（盖章）") == 2  # under the summary and under the detail


def claims_report_claims(job):
    workbook = load(job)
    return [
        row[7]
        for row in workbook.worksheets[1].iter_rows(min_row=4, values_only=True)
        if isinstance(row[0], int)
    ]


def test_every_unwrapped_value_and_every_header_fits_its_column(claims_report):
    """Column widths fit the Chinese headers and the values (wrapped columns may break, and
    their rows grow: no data row has a fixed height)."""
    workbook = load(claims_report)
    for ws in workbook.worksheets:
        # A row holding wrapped text is as tall as its longest cell's lines.
        for row in range(3, ws.max_row + 1):
            if ws.cell(row=row, column=1).value is None:
                break
            needed = max(
                (
                    wrapped_lines(cell.value, ws.column_dimensions[cell.column_letter].width)
                    for cell in ws[row]
                    if cell.alignment.wrap_text
                ),
                default=1,
            )
            if needed > 1:
                assert ws.row_dimensions[row].height >= needed * 14, (ws.title, row, needed)
    for ws, columns in (
        (workbook.worksheets[1], CLAIMS_REPORT.columns),
        (workbook.worksheets[0], CLAIMS_REPORT.summary_columns),
    ):
        for index, column in enumerate(columns, start=1):
            letter = ws.cell(row=3, column=index).column_letter
            width = ws.column_dimensions[letter].width
            header = str(ws.cell(row=3, column=index).value)
            # Headers wrap on two lines at most.
            assert display_width(header) <= 2 * (width - 1), (header, width)
            cell = ws.cell(row=4, column=index)
            if cell.alignment.wrap_text:
                continue
            for row in ws.iter_rows(min_row=4, values_only=True):
                if row[0] is None:
                    break  # the blank row before the signature block: the table ends
                value = row[index - 1]
                if value is None:
                    continue
                shown = _shown(column.kind, value)
                assert display_width(shown) <= width - 1, (header, shown, width)


def _shown(kind, value) -> str:
    if kind == DATE and hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    if kind == MONEY and isinstance(value, int | float):
        return f"{value:,.2f}"
    if kind in (INTEGER, TEXT, ID_TEXT):
        return str(value)
    return str(value)


def test_the_pdf_prints_a_wide_form_smaller_instead_of_wrapping_dates_and_numbers():
    import datetime
    from decimal import Decimal

    from core.excel import Form
    from reports.builders import CLAIMS_REPORT
    from reports.pdf import BODY_SIZE, _Layout

    layout = _Layout(Form(title="补贴申领备案表", columns=CLAIMS_REPORT.columns))
    assert layout.size < BODY_SIZE  # eighteen columns are wider than A4 landscape at 8 points
    row = [
        1, "王小明", "330106199701018838", "数字化管理师", "初级", "杭州电子科技大学", "PX20250001000001",
        "DJ20250001000001", datetime.date(2025, 12, 31), "杭州市", "户籍地", Decimal("2200.00"),
        Decimal("100.00"), Decimal("0.00"), Decimal("2200.00"), "已拨付", datetime.date(2026, 11, 30),
        datetime.date(2026, 11, 30),
    ]  # fmt: skip
    lines = layout.lines(row)
    for index in (2, 6, 7, 8, 11, 14, 16, 17):  # ID and certificate numbers, dates, amounts
        assert len(lines[index]) == 1, (CLAIMS_REPORT.columns[index].header, lines[index])
