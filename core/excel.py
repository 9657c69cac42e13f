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
* a file is written under a temporary name next to its destination and moved into place with
  ``os.replace`` only once complete and flushed, so nobody ever downloads half a report.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import tempfile
from pathlib import Path

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

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
    """A write-only cell carrying a style.

    Building the style of a cell is the expensive part of a styled cell in openpyxl; a column
    that needs one format therefore builds its cell once and reassigns ``.value`` on every
    row (see ``ReusableCell``).
    """
    cell = WriteOnlyCell(ws, value=value)
    if number_format is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    for name, attr in style.items():
        setattr(cell, name, attr)
    return cell


class _ColumnCell(Cell):
    """A cell whose style is fixed once built: its style id is looked up once, not per row.

    openpyxl recomputes a cell's style id (a hash and a dictionary look-up) every time it
    writes the cell, and formats the cell's repr into an exception message each time a row
    hands it a ready-made cell; both are per-row costs this column cell avoids.
    """

    __slots__ = ("_fixed_style_id",)

    @property
    def style_id(self):
        return self._fixed_style_id

    def __repr__(self) -> str:
        return "<column cell>"


class ReusableCell:
    """One pre-styled cell reused for every row of a column.

    This is safe because a write-only worksheet serialises a row to its temporary file during
    ``append()``: by the time the next row sets the value, the previous one is already on
    disk. Values go straight into the cell (``_value``/``data_type``): the caller has already
    made them safe (``safe_text``) and chosen the type, so openpyxl's per-value type sniffing
    is skipped.
    """

    __slots__ = ("cell", "data_type")

    def __init__(self, ws, *, number_format: str, data_type: str):
        cell = _ColumnCell(ws)
        cell.number_format = number_format
        cell._fixed_style_id = Cell.style_id.fget(cell)
        self.cell = cell
        self.data_type = data_type

    def __call__(self, value):
        cell = self.cell
        cell._value = value
        # An empty value is written as an empty styled cell, keeping the column's format.
        cell.data_type = self.data_type if value is not None else "n"
        return cell


def text_column(ws) -> ReusableCell:
    """Identity numbers, certificate numbers: strings in a text-formatted cell."""
    return ReusableCell(ws, number_format=TEXT_FORMAT, data_type="s")


def date_column(ws) -> ReusableCell:
    """Dates; pass ``excel_date(value)``."""
    return ReusableCell(ws, number_format=DATE_FORMAT, data_type="n")


def money_column(ws) -> ReusableCell:
    """Amounts in yuan (``Decimal``), shown with two decimals and thousands separators."""
    return ReusableCell(ws, number_format=MONEY_FORMAT, data_type="n")


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
