"""The PDF of a form: the same title, columns, rows, 合计 row and signature block as the
workbook, on A4 landscape pages with the column titles repeated and "第 X 页 共 Y 页".

Drawn with reportlab (pure PyPI, so ``make run`` works anywhere) in its built-in Adobe CID
font STSong-Light: a PDF reader supplies the glyphs, nothing is embedded or downloaded. The
layout is computed first (rows wrapped to their column, page breaks), so the total page count
is known before the first page is drawn.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from core.excel import DATE, DECIMAL, INTEGER, MONEY, Form, safe_text

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 28.0  # points (about 1 cm)
FOOTER_SPACE = 24.0
BODY_SIZE = 8.0
HEADER_SIZE = 8.0
TITLE_SIZE = 14.0
LEADING = 1.25
PAD = 2.5
# A column's width is given in spreadsheet units (the width of a digit at 11 points); at the
# body size a unit is this many points. A form wider than the page is printed smaller, as the
# workbook is fitted to the page width, instead of wrapping every date and number.
UNIT_POINTS = BODY_SIZE * 0.55
MIN_SIZE = 5.5


@dataclass
class PdfSection:
    """One form in the PDF: its rows already converted (as for the workbook) and its totals."""

    form: Form
    rows: Sequence[Sequence[Any]]
    totals: Sequence[Any] | None = None
    note: str = ""  # printed under the title (e.g. why the detail is not in the PDF)


def cell_text(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        return f"{Decimal(value):,.2f}"
    if kind == DECIMAL:
        return f"{Decimal(value):.1f}"
    if kind == INTEGER:
        return str(value)
    if kind == DATE and isinstance(value, datetime.date):
        return value.isoformat()
    return safe_text(value) or ""


def wrap(text: str, width: float, size: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points (by character: Chinese has no
    spaces to break at, and an ID number must not be split anywhere but at the edge)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            if line and pdfmetrics.stringWidth(line + ch, FONT, size) > width:
                lines.append(line)
                line = ch
            else:
                line += ch
        lines.append(line)
    return lines or [""]


class _Layout:
    def __init__(self, form: Form):
        self.form = form
        usable = PAGE_WIDTH - 2 * MARGIN
        total = sum(c.width for c in form.columns)
        self.widths = [usable * c.width / total for c in form.columns]
        self.kinds = [c.kind for c in form.columns]
        scale = min(1.0, usable / (total * UNIT_POINTS))
        self.size = max(MIN_SIZE, BODY_SIZE * scale)
        self.header_size = max(MIN_SIZE, HEADER_SIZE * scale)
        self.header = [
            wrap(str(c.header), w - 2 * PAD, self.header_size)
            for c, w in zip(form.columns, self.widths, strict=True)
        ]
        self.header_height = max(len(lines) for lines in self.header) * self.header_size * LEADING + 2 * PAD

    def lines(self, values) -> list[list[str]]:
        return [
            wrap(cell_text(kind, value), width - 2 * PAD, self.size)
            for kind, value, width in zip(self.kinds, values, self.widths, strict=True)
        ]

    def height(self, lines) -> float:
        return max(len(cell) for cell in lines) * self.size * LEADING + 2 * PAD


def _total_row(section: PdfSection) -> list | None:
    form = section.form
    if form.total_label is None:
        return None
    if section.totals is not None:
        values = list(section.totals)
    else:
        values = [None] * len(form.columns)
        for i, column in enumerate(form.columns):
            if column.total:
                values[i] = sum((row[i] for row in section.rows if row[i] is not None), 0)
    values[0] = form.total_label
    return values


def _paginate(section: PdfSection, layout: _Layout) -> list[list[tuple[str, Any]]]:
    """Pages of (what, payload): what is 'row' (index), 'total' or 'signature'."""
    top = PAGE_HEIGHT - MARGIN - TITLE_SIZE * 1.6 - (BODY_SIZE * 2 if section.form.subtitle else 0)
    top -= BODY_SIZE * 2 if section.note else 0
    bottom = MARGIN + FOOTER_SPACE
    room = top - layout.header_height - bottom
    pages: list[list[tuple[str, Any]]] = [[]]
    left = room
    items: list[tuple[str, Any, float]] = [
        ("row", i, layout.height(layout.lines(row))) for i, row in enumerate(section.rows)
    ]
    total = _total_row(section)
    if total is not None:
        items.append(("total", total, layout.height(layout.lines(total))))
    items.append(("signature", None, BODY_SIZE * LEADING * 6))
    for what, payload, height in items:
        if height > left and pages[-1]:
            pages.append([])
            left = room
        pages[-1].append((what, payload, height))
        left -= height
    return pages


def write_pdf(target: IO[bytes], sections: Sequence[PdfSection], *, title: str = "") -> int:
    """Write ``sections`` (each starting on a new page) to ``target``; return the page count."""
    plans = []
    for section in sections:
        layout = _Layout(section.form)
        plans.append((section, layout, _paginate(section, layout)))
    page_count = sum(len(pages) for _s, _l, pages in plans)

    canvas = Canvas(target, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=1)
    canvas.setTitle(title or (sections[0].form.title if sections else ""))
    canvas.setLineWidth(0.5)
    number = 0
    for section, layout, pages in plans:
        form = section.form
        for page in pages:
            number += 1
            y = PAGE_HEIGHT - MARGIN - TITLE_SIZE
            canvas.setFont(FONT, TITLE_SIZE)
            canvas.drawCentredString(PAGE_WIDTH / 2, y, safe_text(form.title) or "")
            y -= TITLE_SIZE * 0.6
            if form.subtitle:
                y -= BODY_SIZE * 1.6
                canvas.setFont(FONT, BODY_SIZE)
                canvas.drawString(MARGIN, y, safe_text(form.subtitle) or "")
            if section.note:
                y -= BODY_SIZE * 1.6
                canvas.setFont(FONT, BODY_SIZE)
                canvas.drawString(MARGIN, y, section.note)
            y -= BODY_SIZE * 0.8
            y = _draw_row(
                canvas, layout, layout.header, y, layout.header_height, layout.header_size, centred=True
            )
            for what, payload, height in page:
                if what == "row":
                    y = _draw_row(canvas, layout, layout.lines(section.rows[payload]), y, height, layout.size)
                elif what == "total":
                    y = _draw_row(canvas, layout, layout.lines(payload), y, height, layout.size)
                else:
                    _draw_signature(canvas, form, y, layout)
            canvas.setFont(FONT, BODY_SIZE)
            canvas.drawCentredString(PAGE_WIDTH / 2, MARGIN, f"第 {number} 页 共 {page_count} 页")
            canvas.showPage()
    canvas.save()
    return page_count


def _draw_row(
    canvas, layout: _Layout, cells, y: float, height: float, size: float, *, centred=False
) -> float:
    x = MARGIN
    canvas.setFont(FONT, size)
    for lines, width, kind in zip(cells, layout.widths, layout.kinds, strict=True):
        canvas.rect(x, y - height, width, height, stroke=1, fill=0)
        ty = y - PAD - size
        for line in lines:
            if centred:
                canvas.drawCentredString(x + width / 2, ty, line)
            elif kind in (MONEY, DECIMAL):
                canvas.drawRightString(x + width - PAD, ty, line)
            else:
                canvas.drawString(x + PAD, ty, line)
            ty -= size * LEADING
        x += width
    return y - height


def _draw_signature(canvas, form: Form, y: float, layout: _Layout) -> None:
    labels = list(form.signature)
    if labels and form.prepared_on:
        labels[-1] += form.prepared_on
    canvas.setFont(FONT, BODY_SIZE + 1)
    usable = PAGE_WIDTH - 2 * MARGIN
    step = usable / max(len(labels), 1)
    line_y = y - BODY_SIZE * LEADING * 2
    for i, label in enumerate(labels):
        canvas.drawString(MARGIN + i * step, line_y, label)
    if form.stamp:
        canvas.drawString(MARGIN + (len(labels) - 1) * step, line_y - BODY_SIZE * LEADING * 3, form.stamp)
