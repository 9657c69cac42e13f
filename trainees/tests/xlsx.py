"""Build real .xlsx files in tests."""

import io

from openpyxl import Workbook


def xlsx_bytes(header, rows, *, text_columns=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
