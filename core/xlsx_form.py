"""A print-ready Excel form (SPEC "Filed as a form"), written with openpyxl's public API.

One sheet: the column headers in row 1 (repeated on every printed page), one bordered row per
record, a 合计 row, and the signature block (制表人, 审核人, 负责人, 制表日期, （盖章）) under it.
Printed: A4 landscape, fitted to the page width, the title in the page header and
"第 X 页 共 Y 页" in the footer. The title lives in the page header rather than in a row above
the table so that row 1 stays the header row: a bank or an auditor can fill in further
columns and the same file is read back by ``core.xlsx_import`` unchanged.

Used by the payment batches' bank file and the spot checks' sample (two apps on one floor,
which may not import each other). Forms are bounded (a batch, a sample), so cells are
ordinary styled cells rather than a streaming writer.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

TEXT = "text"
ID_TEXT = "id"  # identity, account and certificate numbers: text in a text-formatted cell
MONEY = "money"
INTEGER = "integer"
DATE = "date"

_FORMATS = {TEXT: "@", ID_TEXT: "@", MONEY: "#,##0.00", INTEGER: "0", DATE: "yyyy-mm-dd"}
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# The control characters a worksheet cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


@dataclass(frozen=True)
class FormColumn:
    """One column of a form: the key in each record, the printed header, width and kind."""

    key: str
    header: Any
    width: int = 14
    kind: str = TEXT


def safe_text(value: Any) -> str | None:
    """A string that Excel will show as text: never a formula, no character the format rejects."""
    if value is None:
        return None
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if text.startswith(_FORMULA_TRIGGERS):
        text = "'" + text
    return text


def _cell_value(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if kind in (TEXT, ID_TEXT):
        return safe_text(value)
    if kind == MONEY:
        return Decimal(value)
    if kind == DATE and isinstance(value, datetime.datetime):
        return value.date()
    return value


def write_form(
    *,
    columns: Sequence[FormColumn],
    records: Iterable[Mapping[str, Any]],
    title: str,
    sheet_title: str,
    totals: Mapping[str, Any] | None = None,
    totals_label: str = "合计",
    signature: Sequence[str] = ("制表人：", "审核人：", "负责人：", "制表日期："),
    stamp: str = "（盖章）",
    signature_columns: Sequence[int] | None = None,
    made_on: datetime.date | None = None,
) -> bytes:
    """The workbook as bytes. ``totals`` maps column keys to the 合计 row's values.

    ``signature_columns`` are the 1-based columns that take the signature labels (default:
    spread across the table); callers whose file is read back choose text columns.
    """
    # openpyxl on use, not at import: every web and worker process would carry its 13 MB.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    thin = Side(style="thin")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    bold = Font(bold=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = safe_text(sheet_title)[:31]
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=safe_text(column.header))
        cell.font = bold
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    row_number = 1
    for record in records:
        row_number += 1
        for index, column in enumerate(columns, start=1):
            cell = sheet.cell(
                row=row_number, column=index, value=_cell_value(column.kind, record.get(column.key))
            )
            cell.number_format = _FORMATS[column.kind]
            cell.border = border
    if totals is not None:
        row_number += 1
        for index, column in enumerate(columns, start=1):
            value = totals_label if index == 1 else _cell_value(column.kind, totals.get(column.key))
            cell = sheet.cell(row=row_number, column=index, value=value)
            cell.font = bold
            cell.border = border
            if index > 1:
                cell.number_format = _FORMATS[column.kind]

    # The signature block, one blank row under the table.
    count = len(columns)
    if signature_columns is None:
        step = max(1, count // max(1, len(signature)))
        signature_columns = [min(count, 1 + i * step) for i in range(len(signature))]
    row_number += 2
    labels = list(signature)
    if made_on is not None and labels:
        labels[-1] = f"{labels[-1]} {made_on.isoformat()}"
    for label, col in zip(labels, signature_columns, strict=False):
        sheet.cell(row=row_number, column=col, value=safe_text(label))
    row_number += 2
    sheet.cell(
        row=row_number, column=signature_columns[-1] if signature_columns else 1, value=safe_text(stamp)
    )

    # Printed as a form: A4 landscape, one page wide, header row on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_title_rows = "1:1"
    sheet.print_area = f"A1:{get_column_letter(count)}{row_number}"
    sheet.print_options.horizontalCentered = True
    sheet.oddHeader.center.text = safe_text(title).replace("&", "&&")
    sheet.oddHeader.center.size = 14
    sheet.oddHeader.center.font = "SimSun,Bold"
    sheet.oddFooter.center.text = "第 &P 页 共 &N 页"
    sheet.freeze_panes = "A2"
    sheet.sheet_view.zoomScale = 100

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
