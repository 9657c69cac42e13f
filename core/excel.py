"""Excel helpers shared by every export: safe cell values, pre-styled cells, atomic files.

A filing report goes to the province as it is, so what a cell holds must be exactly what the
database holds, read the way a reviewer expects:

* strings from the database never become formulas (formula injection, OWASP "CSV injection":
  a name such as ``=HYPERLINK(...)`` would run when the file is opened) and never become error
  values (openpyxl turns ``#N/A`` into an error cell): they are prefixed with ``'``;
* characters that the file format cannot hold (C0 control characters) are stripped, because
  openpyxl refuses them and the whole report would fail for one bad byte;
* identity and certificate numbers are written as strings in cells formatted as text (``@``),
  so Excel neither shows ``1.10105E+17`` nor drops the trailing ``X``;
* data rows of fixed column kinds are serialised directly (``RowLayout``, ``StreamingWorksheet``),
  an order of magnitude faster than openpyxl's per-cell objects;
* a file is written under a temporary name next to its destination and moved into place with
  ``os.replace`` only once complete and flushed, so nobody ever downloads half a report.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import tempfile
from decimal import Decimal
from pathlib import Path

from openpyxl import LXML
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

# Excel, LibreOffice and WPS treat a leading =, +, - or @ as the start of a formula; tab and
# carriage return are listed by OWASP because some programs strip them and then see a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ERROR_CODES = frozenset(ERROR_CODES)
_MAX_CELL_TEXT = 32767  # the format's limit; openpyxl truncates silently, we do it knowingly

TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
INTEGER_FORMAT = "0"
DECIMAL_FORMAT = "0.0"

# Excel's day 0 for the 1900 date system as openpyxl writes it (1899-12-30, which absorbs
# Lotus' phantom 1900-02-29). Dates are written as this serial number in a cell styled with a
# date format: the file is byte-for-byte what openpyxl writes for a ``date`` value, without
# openpyxl's per-cell date detection, and reads back as a date in Excel, WPS and openpyxl.
_EXCEL_EPOCH_ORDINAL = datetime.date(1899, 12, 30).toordinal()


def safe_text(value: object) -> str | None:
    """The string to put in a cell for ``value``: never a formula, never an illegal character.

    ``None`` stays ``None`` (an empty cell). A neutralised string is prefixed with an
    apostrophe, the convention spreadsheet users know for "this is text".
    """
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    if ILLEGAL_CHARACTERS_RE.search(text) is not None:
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if text.startswith(FORMULA_TRIGGERS) or text in _ERROR_CODES:
        text = "'" + text
    if len(text) > _MAX_CELL_TEXT:
        text = text[:_MAX_CELL_TEXT]
    return text


def excel_date(value: datetime.date | None) -> int | None:
    """The 1900-system serial number of a date (to go in a date-formatted cell)."""
    if value is None:
        return None
    return value.toordinal() - _EXCEL_EPOCH_ORDINAL


THIN = Side(style="thin", color="999999")
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
TITLE_FONT = Font(bold=True, size=14)
TOTAL_FONT = Font(bold=True)


def styled_cell(ws, value=None, *, number_format: str | None = None, font=None, **style) -> WriteOnlyCell:
    """A write-only cell carrying a style (header, title and totals rows)."""
    cell = WriteOnlyCell(ws, value=value)
    if number_format is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    for name, attr in style.items():
        setattr(cell, name, attr)
    return cell


# Column kinds of a ``RowLayout``.
TEXT = "text"  # a string from the database: made safe, written as an inline string
ID_TEXT = "id"  # an identity or certificate number: the same, in a text-formatted cell
INTEGER = "integer"
MONEY = "money"  # Decimal yuan, two decimals shown
DECIMAL = "decimal"  # hours, one decimal shown
DATE = "date"  # a datetime.date (a local date: the caller converts datetimes)

_KIND_FORMATS = {
    TEXT: None,
    ID_TEXT: TEXT_FORMAT,
    INTEGER: None,
    MONEY: MONEY_FORMAT,
    DECIMAL: DECIMAL_FORMAT,
    DATE: DATE_FORMAT,
}


def _xml_text(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


class RowLayout:
    """The columns of a sheet's data rows, and how to write one row as SpreadsheetML.

    openpyxl writes a cell by building a ``Cell``, sniffing the value's type, building an
    ElementTree element and serialising it through a generic incremental writer: about 20 µs
    a cell on this project's machine, which makes a million-row report a matter of hours.
    For the data rows of a report, whose columns have fixed kinds, the row is instead written
    as text in one go; the workbook itself (styles, sheet set-up, header rows written with
    ``append``, packaging) remains openpyxl's. The XML is exactly what openpyxl writes for
    the same values (inline strings, numbers, style ids), and the tests read every report
    back with openpyxl.

    Values are made safe here, not by the caller: every string goes through ``safe_text``.
    """

    def __init__(self, ws, kinds):
        self.kinds = tuple(kinds)
        self._columns = []
        for index, kind in enumerate(self.kinds, start=1):
            number_format = _KIND_FORMATS[kind]
            style = ""
            if number_format is not None:
                cell = Cell(ws)
                cell.number_format = number_format  # registers the style in the workbook
                style = f' s="{Cell.style_id.fget(cell)}"'
            self._columns.append((f'<c r="{get_column_letter(index)}', style, kind))

    def xml(self, values, row: int) -> str:
        if len(values) != len(self._columns):
            raise ValueError(f"expected {len(self._columns)} values, got {len(values)}")
        r = str(row)
        parts = [f'<row r="{r}">']
        append = parts.append
        for (start, style, kind), value in zip(self._columns, values, strict=True):
            if value is None or value == "":
                if style:  # keep the column's format on an empty cell
                    append(f'{start}{r}"{style}/>')
                continue
            if kind in (TEXT, ID_TEXT):
                text = safe_text(value)
                space = ' xml:space="preserve"' if text != text.strip() else ""
                append(f'{start}{r}"{style} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>')
            elif kind == DATE:
                if type(value) is not datetime.date:
                    raise TypeError(f"a DATE column takes a date, not {type(value).__name__}")
                append(f'{start}{r}"{style}><v>{value.toordinal() - _EXCEL_EPOCH_ORDINAL}</v></c>')
            elif kind in (MONEY, DECIMAL):
                number = format(value, "f") if isinstance(value, Decimal) else repr(float(value))
                append(f'{start}{r}"{style}><v>{number}</v></c>')
            else:  # INTEGER
                append(f'{start}{r}"{style}><v>{int(value)}</v></c>')
        append("</row>")
        return "".join(parts)

    def cells(self, ws, values) -> list:
        """The same row as openpyxl cells (the path used when the fast one is unavailable)."""
        row = []
        for kind, value in zip(self.kinds, values, strict=True):
            if kind in (TEXT, ID_TEXT):
                value = safe_text(value)
            elif kind == DATE:
                value = excel_date(value)
            number_format = _KIND_FORMATS[kind]
            row.append(styled_cell(ws, value, number_format=number_format) if number_format else value)
        return row


class _LayoutRow:
    __slots__ = ("layout", "values")


class StreamingWorksheet(WriteOnlyWorksheet):
    """A write-only worksheet that also takes data rows in a ``RowLayout`` (``append_row``).

    Everything else (set-up, ``append`` of styled header rows, the tail, saving) is openpyxl's
    write-only worksheet unchanged. Create it with ``streaming_sheet(wb, title)``.
    """

    def append_row(self, layout: RowLayout, values) -> None:
        self._get_writer()
        if self._rows is None:
            self._rows = self._write_rows()
            next(self._rows)
        message = _LayoutRow()
        message.layout = layout
        message.values = values
        self._rows.send(message)

    def _write_rows(self):
        # openpyxl's WriteOnlyWorksheet._write_rows, plus the layout rows. The fast path
        # writes text straight to the stream of et_xmlfile's writer (openpyxl's writer when
        # lxml is absent, as in this project); with lxml the row goes through openpyxl cells.
        try:
            xf = self._writer.xf.send(True)
        except StopIteration:
            self._already_saved()
        raw = None if LXML else getattr(xf, "_file", None)
        with xf.element("sheetData"):
            row_idx = 1
            try:
                while True:
                    row = yield
                    if type(row) is _LayoutRow:
                        if raw is not None:
                            raw(row.layout.xml(row.values, row_idx))
                        else:
                            cells = self._values_to_row(row.layout.cells(self, row.values), row_idx)
                            self._writer.write_row(xf, cells, row_idx)
                    else:
                        self._writer.write_row(xf, self._values_to_row(row, row_idx), row_idx)
                    row_idx += 1
            except GeneratorExit:
                pass
        self._writer.xf.send(None)


def streaming_sheet(wb, title: str) -> StreamingWorksheet:
    """A new ``StreamingWorksheet`` at the end of the write-only workbook ``wb``."""
    ws = StreamingWorksheet(parent=wb, title=title)
    wb._add_sheet(ws)
    return ws


def header_row(ws, labels) -> list[WriteOnlyCell]:
    return [
        styled_cell(
            ws,
            str(label),
            font=HEADER_FONT,
            fill=HEADER_FILL,
            border=HEADER_BORDER,
            alignment=HEADER_ALIGNMENT,
        )
        for label in labels
    ]


def title_row(ws, text: str) -> list[WriteOnlyCell]:
    return [styled_cell(ws, safe_text(text), font=TITLE_FONT)]


def discard_workbook(wb) -> None:
    """Remove the temporary files of an unsaved write-only workbook.

    A write-only worksheet streams its rows to a file in the system's temporary directory,
    which ``save()`` removes. A report that fails half-way never saves, and without this a
    million-row failure would leave hundreds of megabytes in /tmp until the process exits.
    """
    for ws in wb.worksheets:
        rows = getattr(ws, "_rows", None)
        if rows is not None:
            with contextlib.suppress(Exception):
                rows.close()  # ends the row generator while its file is still open
        writer = getattr(ws, "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
            with contextlib.suppress(Exception):
                writer.cleanup()


def sha256_of(path: Path, *, block_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block_size):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(path: Path) -> None:
    # Make the rename itself durable; not possible (nor needed) on every platform.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class AtomicFile:
    """A temporary file in the destination's directory, published by ``os.replace``.

    Use as a context manager: write to ``.temp_path`` inside the block. On a clean exit the
    file is flushed to disk, its SHA-256 taken and then renamed onto ``.path`` (atomic on
    POSIX within one file system, which is why the temporary file lives in the same
    directory). On any exception the temporary file is removed and nothing appears at
    ``.path``.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.temp_path: Path | None = None
        self.checksum: str | None = None
        self.published = False

    def __enter__(self) -> AtomicFile:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A dot-name so that no listing of the directory mistakes it for a report.
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part")
        os.close(fd)
        self.temp_path = Path(name)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self.temp_path is not None
        if exc_type is not None:
            self.discard()
            return False
        try:
            fd = os.open(self.temp_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self.checksum = sha256_of(self.temp_path)
            os.replace(self.temp_path, self.path)
            self.published = True
            _fsync_directory(self.path.parent)
        except BaseException:
            self.discard()
            raise
        return False

    def discard(self) -> None:
        """Remove the temporary file, and the published file too if it was already moved."""
        for candidate in (self.temp_path, self.path if self.published else None):
            if candidate is not None:
                with contextlib.suppress(FileNotFoundError):
                    candidate.unlink()
        self.published = False
