"""Print-ready Excel forms, written by the project's own small SpreadsheetML writer.

Every file this system hands to a bureau (filing reports, list exports, the bank's payment
file) is a *form*: printed on A4 landscape, fitted to the page width, the title and column
titles repeated on every page, thin borders on every data cell, a 合计 row, "第 X 页 共 Y 页"
in the footer and a signature block (制表人, 审核人, 负责人, 制表日期, （盖章）) under the last
row. One ``Column`` list describes a form's columns (header, width, kind, source, conversion);
``write_form`` (one sheet) and ``FormWorkbook`` (several) write it.

Why our own writer: openpyxl's public write-only API spends 20-40 µs a cell, which makes a
million-row report a matter of hours, and its fast internals are private names that change
(and take another, much slower path when lxml is installed). This module imports neither
openpyxl nor lxml: one code path, whatever is installed. The workbook is a zip of a few fixed
XML parts (styles, workbook, content types) and one streamed part per sheet; every file is read
back with openpyxl in the tests, and LibreOffice renders one in CI.

Values are written exactly as the database holds them:

* a string is always a string cell (``t="inlineStr"``), which Excel, WPS and LibreOffice never
  evaluate; one that *looks* like a formula (leading ``=``, ``+``, ``-``, ``@``, tab, CR:
  OWASP's "CSV injection" list) gets the quote-prefix style, so that editing the cell later
  cannot turn it into one either, and nothing is added to the value;
* characters XML cannot hold (C0 controls, U+FFFE/U+FFFF, lone surrogates) are stripped,
  because one bad byte must not fail a whole report;
* identity and certificate numbers (``ID_TEXT``) are text in text-formatted cells, so no
  program shows ``1.10105E+17`` or drops a trailing ``X``;
* dates are serial numbers in date-formatted cells.
"""

from __future__ import annotations

import datetime
import queue
import re
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

# Excel, LibreOffice and WPS treat a leading =, +, - or @ as the start of a formula; tab and
# carriage return are listed by OWASP because some programs strip them and then see a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_TEXT = 32767  # the format's limit
# Not allowed in XML 1.0 (and so in a cell): C0 controls but tab, LF, CR; U+FFFE, U+FFFF;
# surrogates that Python lets a str carry alone.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
MONEY_FORMAT = "#,##0.00"
INTEGER_FORMAT = "0"
DECIMAL_FORMAT = "0.0"

# Excel's day 0 for the 1900 date system (1899-12-30, which absorbs Lotus' phantom 1900-02-29).
_EXCEL_EPOCH_ORDINAL = datetime.date(1899, 12, 30).toordinal()

# Column kinds.
TEXT = "text"  # a string: made safe, written as an inline string
WRAP_TEXT = "wrap"  # the same, wrapped in its column (names of institutions, reasons)
ID_TEXT = "id"  # an identity or certificate number: the same, in a text-formatted cell
INTEGER = "integer"
MONEY = "money"  # Decimal yuan, two decimals shown
DECIMAL = "decimal"  # hours, one decimal shown
DATE = "date"  # a datetime.date (a local date: the column's conversion turns datetimes)
KINDS = (TEXT, WRAP_TEXT, ID_TEXT, INTEGER, MONEY, DECIMAL, DATE)
NUMBER_KINDS = (INTEGER, MONEY, DECIMAL)

# The source of a running number column (序号): the row's position, not a database field.
SEQUENCE = "#"


@dataclass(frozen=True)
class Column:
    """One column of a form: declared once, read by the query, the writer and the PDF.

    ``header`` is shown (translated lazily, so a spec can live at module level); ``width`` is
    in Excel's character units (a Chinese character is two); ``source`` is the queryset field
    the value comes from (``SEQUENCE`` for 序号, None for a value the caller computes);
    ``convert`` turns the database value into the cell value; ``total`` sums the column into
    the 合计 row; ``unique`` says its values rarely repeat (see below).
    """

    header: Any
    width: float
    kind: str = TEXT
    source: str | None = None
    convert: Callable[[Any], Any] | None = None
    total: bool = False
    # Values that rarely repeat (names): written inline. Other text goes to the workbook's
    # shared-string table the first time and is a number afterwards: a smaller file, faster.
    unique: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")
        if self.total and self.kind not in NUMBER_KINDS:
            raise ValueError(f"only a number column can be totalled, not {self.kind!r}")


# --------------------------------------------------------------------------- text


def safe_text(value: object) -> str | None:
    """The string a cell holds for ``value``: legal characters, at most the cell limit.

    Nothing is added: a formula-looking string stays as typed (the writer gives it the
    quote-prefix style). ``None`` stays ``None`` (an empty cell).
    """
    if value is None:
        return None
    text = value if type(value) is str else str(value)
    if not text.isprintable() and _ILLEGAL.search(text) is not None:
        text = _ILLEGAL.sub("", text)
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT]
    return text


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def display_width(text: str) -> int:
    """Width of ``text`` in Excel's character units: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def excel_date(value: datetime.date | None) -> int | None:
    """The 1900-system serial number of a date (to go in a date-formatted cell)."""
    if value is None:
        return None
    return value.toordinal() - _EXCEL_EPOCH_ORDINAL


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --------------------------------------------------------------------------- styles
#
# One fixed style sheet for every form. The index of each cell format (cellXfs) is the ``s``
# attribute of a cell; the tests read the formats back through openpyxl.

_NUM_FMT_IDS = {TEXT_FORMAT: 49, INTEGER_FORMAT: 1, MONEY_FORMAT: 4, DECIMAL_FORMAT: 164, DATE_FORMAT: 165}
_FONT_NAME = "宋体"

# name -> (numFmt, font, fill, border, horizontal, wrap, quote prefix)
_XF_SPECS = {
    "default": (None, 0, 0, 0, None, False, False),
    "title": (None, 1, 0, 0, "center", False, False),
    "header": (None, 2, 2, 1, "center", True, False),
    TEXT: (None, 0, 0, 1, None, False, False),
    TEXT + "!": (None, 0, 0, 1, None, False, True),
    WRAP_TEXT: (None, 0, 0, 1, None, True, False),
    WRAP_TEXT + "!": (None, 0, 0, 1, None, True, True),
    ID_TEXT: (TEXT_FORMAT, 0, 0, 1, None, False, False),
    ID_TEXT + "!": (TEXT_FORMAT, 0, 0, 1, None, False, True),
    INTEGER: (INTEGER_FORMAT, 0, 0, 1, "center", False, False),
    MONEY: (MONEY_FORMAT, 0, 0, 1, None, False, False),
    DECIMAL: (DECIMAL_FORMAT, 0, 0, 1, None, False, False),
    DATE: (DATE_FORMAT, 0, 0, 1, "center", False, False),
    "total": (None, 2, 0, 1, "center", False, False),
    "total " + INTEGER: (INTEGER_FORMAT, 2, 0, 1, "center", False, False),
    "total " + MONEY: (MONEY_FORMAT, 2, 0, 1, None, False, False),
    "total " + DECIMAL: (DECIMAL_FORMAT, 2, 0, 1, None, False, False),
    "signature": (None, 0, 0, 0, "left", False, False),
    "subtitle": (None, 0, 0, 0, "left", False, False),
}
STYLE = {name: index for index, name in enumerate(_XF_SPECS)}


def _styles_xml() -> str:
    custom = "".join(
        f'<numFmt numFmtId="{fid}" formatCode={quoteattr(code)}/>'
        for code, fid in _NUM_FMT_IDS.items()
        if fid >= 164
    )
    xfs = []
    for num_fmt, font, fill, border, horizontal, wrap, quote in _XF_SPECS.values():
        fmt_id = _NUM_FMT_IDS[num_fmt] if num_fmt else 0
        attrs = f'numFmtId="{fmt_id}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="0"'
        attrs += ' applyNumberFormat="1"' if num_fmt else ""
        attrs += ' applyFont="1"' if font else ""
        attrs += ' applyFill="1"' if fill else ""
        attrs += ' applyBorder="1"' if border else ""
        attrs += ' quotePrefix="1"' if quote else ""
        align = ' vertical="center"'
        align += f' horizontal="{horizontal}"' if horizontal else ""
        align += ' wrapText="1"' if wrap else ""
        xfs.append(f'<xf {attrs} applyAlignment="1"><alignment{align}/></xf>')
    thin = '<{side} style="thin"><color rgb="FF000000"/></{side}>'
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<numFmts count="{custom.count("<numFmt ")}">{custom}</numFmts>'
        '<fonts count="3">'
        f'<font><sz val="11"/><name val="{_FONT_NAME}"/><charset val="134"/><family val="3"/></font>'
        f'<font><b/><sz val="16"/><name val="{_FONT_NAME}"/><charset val="134"/><family val="3"/></font>'
        f'<font><b/><sz val="11"/><name val="{_FONT_NAME}"/><charset val="134"/><family val="3"/></font>'
        "</fonts>"
        '<fills count="3"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/>'
        "</patternFill></fill></fills>"
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        "<border>"
        + "".join(thin.format(side=s) for s in ("left", "right", "top", "bottom"))
        + "<diagonal/></border></borders>"
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


# --------------------------------------------------------------------------- rows


def _text_cell(value, plain: str, quoted: str) -> str:
    """A string cell; ``plain``/``quoted`` are the style attributes without/with quote prefix."""
    if value is None or value == "":
        return f"<c{plain}/>"
    text = value if type(value) is str else str(value)
    if not text.isprintable() and _ILLEGAL.search(text) is not None:
        text = _ILLEGAL.sub("", text)
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT]
    style = quoted if text.startswith(FORMULA_TRIGGERS) else plain
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text[:1].isspace() or text[-1:].isspace():
        return f'<c{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c{style} t="inlineStr"><is><t>{text}</t></is></c>'


def _number(value) -> str:
    if type(value) is int:
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a number a cell can hold: {value}")
        return format(value, "f")
    if isinstance(value, bool):
        return str(int(value))
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a number a cell can hold: {value}")
    return repr(number)


def _date_serial(value) -> int:
    if type(value) is not datetime.date:
        raise TypeError(f"a DATE column takes a date, not {type(value).__name__}")
    return value.toordinal() - _EXCEL_EPOCH_ORDINAL


class SharedStrings:
    """The workbook's shared-string table (xl/sharedStrings.xml), bounded in size."""

    LIMIT = 100_000

    def __init__(self):
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int | None:
        position = self.index.get(text)
        if position is None:
            if len(self.index) >= self.LIMIT:
                return None
            position = self.index[text] = len(self.index)
        return position

    def xml(self) -> str:
        items = "".join(
            f'<si><t xml:space="preserve">{escape(text)}</t></si>'
            if text != text.strip()
            else f"<si><t>{escape(text)}</t></si>"
            for text in self.index
        )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'uniqueCount="{len(self.index)}">{items}</sst>'
        )


def _text_renderer(
    plain: str, quoted: str, cache: dict, shared: SharedStrings | None
) -> Callable[[Any], str]:
    """Render a string cell and remember it: report columns repeat their values (occupation,
    institution, status), so most cells are a dictionary hit; with a shared-string table the
    cell refers to the table. The memory is bounded."""

    def render(value) -> str:
        cell = _text_cell(value, plain, quoted)
        if len(cache) < 4096:
            text = safe_text(value)
            position = shared.add(text) if shared is not None and text else None
            if position is not None:
                style = quoted if text.startswith(FORMULA_TRIGGERS) else plain
                cell = f'<c{style} t="s"><v>{position}</v></c>'
            cache[value] = cell
        return cell

    return render


def _value_renderer(kind: str, style: int, cache: dict) -> Callable[[Any], str]:
    """Render a date or number cell and remember it (formatting a Decimal costs ten times a
    dictionary lookup). A date column refuses a datetime, whose time would be lost unseen."""

    def render(value) -> str:
        if value is None:
            cell = f'<c s="{style}"/>'
        elif kind == DATE:
            cell = f'<c s="{style}"><v>{_date_serial(value)}</v></c>'
        else:
            cell = f'<c s="{style}"><v>{_number(value)}</v></c>'
        if len(cache) < 4096:
            cache[value] = cell
        return cell

    return render


LINE_HEIGHT = 14.5  # points per line of 11-point text
ROW_PADDING = 2.0


def wrapped_lines(text: object, width: float) -> int:
    """How many lines ``text`` takes in a wrapping column ``width`` units wide."""
    if text is None:
        return 1
    usable = max(width - 1.0, 1.0)
    return max(1, sum(-(-display_width(part) // usable) or 1 for part in str(text).split("\n")))


def row_height(lines: int) -> float:
    return round(lines * LINE_HEIGHT + ROW_PADDING, 1)


def _line_counter(width: float, cache: dict) -> Callable[[Any], int]:
    def count(value) -> int:
        lines = wrapped_lines(value, width)
        if len(cache) < 4096:
            cache[value] = lines
        return lines

    return count


def compile_row_writer(
    kinds: Sequence[str],
    widths: Sequence[float] | None = None,
    *,
    shared: SharedStrings | None = None,
    unique: Sequence[bool] | None = None,
) -> Callable[[Sequence[Any], int], str]:
    """A function ``(values, row_number) -> '<row>…</row>'`` for columns of these kinds.

    Generated once per form as straight-line code, one expression per column, so that a
    report row costs a few microseconds whatever the column count: the file is written about
    as fast as the database delivers the rows. A string of letters and digits only (most
    names, every ID number: ``str.isalnum`` is true for Chinese characters too) needs neither
    escaping nor a quote prefix and is written at once; any other string goes through
    ``_text_cell``. Cells carry no reference (``r``): a row's cells are written in order,
    every column present, so readers place them by position, as the format allows.
    """
    names = [f"v{i}" for i in range(len(kinds))]
    namespace: dict[str, Any] = {
        "text": _text_cell,
        "number": _number,
        "date": _date_serial,
        "date_type": datetime.date,
        "Decimal": Decimal,
    }
    # One statement per cell (c<i> = ...), then one f-string for the row: each common case
    # (a plain string, a date, a Decimal, an int) is a type check and a formatted value.
    body = []
    for index, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        s = STYLE[kind]
        cell = f"c{index}"
        if kind in (TEXT, WRAP_TEXT, ID_TEXT):
            q = STYLE[kind + "!"]
            cache: dict = {}
            namespace[f"cache{index}"] = cache
            repeats = shared is not None and kind != ID_TEXT and not (unique and unique[index])
            namespace[f"render{index}"] = _text_renderer(
                f' s="{s}"', f' s="{q}"', cache, shared if repeats else None
            )
            if repeats:
                # Repeating text: the table's number once the value was seen.
                body.append(f"{cell} = cache{index}.get({name}) or render{index}({name})")
            else:
                body.append(
                    f'{cell} = f\'<c s="{s}" t="inlineStr"><is><t>{{{name}}}</t></is></c>\' '
                    f"if type({name}) is str and {name}.isalnum() and len({name}) <= {MAX_CELL_TEXT} "
                    f"else cache{index}.get({name}) or render{index}({name})"
                )
        elif kind == INTEGER:
            body.append(
                f"{cell} = '<c s=\"{s}\"/>' if {name} is None else "
                f"f'<c s=\"{s}\"><v>{{{name}}}</v></c>' if type({name}) is int else "
                f"f'<c s=\"{s}\"><v>{{number({name})}}</v></c>'"
            )
        else:  # DATE, MONEY, DECIMAL: a year has 366 days and a report a handful of amounts
            cache = {}
            namespace[f"cache{index}"] = cache
            namespace[f"render{index}"] = _value_renderer(kind, s, cache)
            body.append(f"{cell} = cache{index}.get({name}) or render{index}({name})")
    cells = "".join(f"{{c{i}}}" for i in range(len(kinds)))
    # A row with wrapped text gets the height its longest cell needs: not every program
    # sizes rows itself on opening (LibreOffice keeps the default height), and a fixed row
    # would cut the text off on paper.
    wrapped = [i for i, kind in enumerate(kinds) if kind == WRAP_TEXT] if widths is not None else []
    line_terms = []
    for i in wrapped:
        namespace[f"lines{i}"] = lines_cache = {}
        namespace[f"count{i}"] = _line_counter(widths[i], lines_cache)
        line_terms.append(f"(lines{i}.get(v{i}) or count{i}(v{i}))")
    unpack = ", ".join(names) + ("," if len(names) == 1 else "")
    statements = [f"    {unpack} = values"] + [f"    {line}" for line in body]
    if line_terms:
        namespace["heights"] = {n: row_height(n) for n in range(1, 64)}
        lines_expr = line_terms[0] if len(line_terms) == 1 else f"max({', '.join(line_terms)})"
        statements.append(f"    n = {lines_expr}")
        statements.append(
            f"    if n == 1:\n        return f'<row r=\"{{r}}\">{cells}</row>'\n"
            f"    h = heights.get(n) or {LINE_HEIGHT} * n\n"
            f'    return f\'<row r="{{r}}" ht="{{h}}" customHeight="1">{cells}</row>\''
        )
    else:
        statements.append(f"    return f'<row r=\"{{r}}\">{cells}</row>'")
    source = "def write_row(values, r):\n" + "\n".join(statements) + "\n"
    exec(compile(source, f"<row writer {','.join(kinds)}>", "exec"), namespace)  # noqa: S102
    return namespace["write_row"]


# --------------------------------------------------------------------------- sheets


SIGNATURE_LABELS_DEFAULT = ("制表人：", "审核人：", "负责人：", "制表日期：")


@dataclass
class Form:
    """What is printed on one sheet around its rows: title, columns, totals, signatures.

    ``signature`` holds the four labels of the signature line (制表人, 审核人, 负责人,
    制表日期, translated by the caller) and ``prepared_on`` the date written after the last;
    ``stamp`` is the （盖章） mark; ``total_label`` the first cell of the 合计 row (None: no
    合计 row); ``subtitle`` a line under the title (制表单位, period).
    """

    title: str
    columns: Sequence[Column]
    total_label: str | None = "合计"
    signature: Sequence[str] = SIGNATURE_LABELS_DEFAULT
    prepared_on: str = ""
    stamp: str = "（盖章）"
    subtitle: str = ""
    header_rows: int = field(init=False, default=0)

    def __post_init__(self):
        # Title, optional subtitle, column titles: repeated on every printed page.
        self.header_rows = 3 if self.subtitle else 2

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(column.kind for column in self.columns)


@dataclass
class _Sheet:
    name: str
    index: int
    part: str
    form: Form | None = None
    rows_written: int = 0
    last_row: int = 0
    written: bool = False


class _Pipe:
    """Compress on a second thread while the rows are built: zlib releases the GIL, so on a
    machine with two cores the deflating is nearly free."""

    def __init__(self, raw):
        self.raw = raw
        # A few chunks of 512 rows in flight are enough to keep the deflating thread busy.
        self.queue: queue.Queue = queue.Queue(maxsize=3)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="xlsx-deflate", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    self.raw.write(item.encode("utf-8"))
                except BaseException as exc:  # handed to the writing thread
                    self.error = exc

    def put(self, text: str) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(text)

    def __enter__(self) -> _Pipe:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Always drained and joined before the zip entry closes, error or not.
        self.queue.put(None)
        self.thread.join()
        if exc_type is None and self.error is not None:
            raise self.error


class FormWorkbook:
    """A workbook of forms, streamed into a zip: ``add_sheet`` in display order, then
    ``write_sheet`` each, in any order (a summary first in the workbook can be written last,
    from totals gathered while the detail streamed)."""

    def __init__(self, target: str | IO[bytes], *, compresslevel: int = 1):
        # Level 1: a third of level 6's time for a file a few percent larger; the text of a
        # report compresses ten to one either way.
        self._zip = zipfile.ZipFile(
            target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._sheets: list[_Sheet] = []
        self._closed = False
        self._shared = SharedStrings()

    def __enter__(self) -> FormWorkbook:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._zip.close()  # the caller discards the file

    def add_sheet(self, name: str) -> _Sheet:
        clean = re.sub(r"[\[\]:*?/\\]", "", name)[:31] or f"Sheet{len(self._sheets) + 1}"
        if any(s.name == clean for s in self._sheets):
            raise ValueError(f"duplicate sheet name {clean!r}")
        sheet = _Sheet(
            name=clean, index=len(self._sheets), part=f"xl/worksheets/sheet{len(self._sheets) + 1}.xml"
        )
        self._sheets.append(sheet)
        return sheet

    def write_sheet(
        self,
        sheet: _Sheet,
        form: Form,
        rows: Iterable[Sequence[Any]],
        *,
        totals: Sequence[Any] | None = None,
        autofilter: bool = True,
    ) -> int:
        """Stream ``rows`` (one value per column, already converted) as the form's body.

        The 合计 row sums the columns marked ``total`` over the rows written, unless
        ``totals`` gives its values (one per column, None for a blank cell). Returns the
        number of data rows.
        """
        if sheet.written:
            raise ValueError(f"sheet {sheet.name!r} is already written")
        sheet.form = form
        columns = form.columns
        ncols = len(columns)
        last_col = column_letter(ncols)
        write_row = compile_row_writer(
            form.kinds,
            [c.width for c in columns],
            shared=self._shared,
            unique=[c.unique for c in columns],
        )
        summed = [i for i, c in enumerate(columns) if c.total]
        sums = [0] * ncols

        with self._zip.open(sheet.part, "w", force_zip64=True) as raw, _Pipe(raw) as pipe:
            emit = pipe.put

            header_rows = form.header_rows
            selected = ' tabSelected="1"' if sheet.index == 0 else ""
            emit(
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
                "<sheetViews>"
                f'<sheetView workbookViewId="0"{selected}>'
                f'<pane ySplit="{header_rows}" topLeftCell="A{header_rows + 1}" activePane="bottomLeft" '
                'state="frozen"/></sheetView></sheetViews>'
                '<sheetFormatPr defaultRowHeight="15"/><cols>'
                + "".join(
                    f'<col min="{i}" max="{i}" width="{c.width:g}" customWidth="1"/>'
                    for i, c in enumerate(columns, start=1)
                )
                + "</cols><sheetData>"
            )
            empty_title = f'<c s="{STYLE["title"]}"/>' * (ncols - 1)
            emit(
                f'<row r="1" ht="30" customHeight="1">{_inline(form.title, STYLE["title"])}{empty_title}</row>'
            )
            merges = [f"A1:{last_col}1"]
            r = 2
            if form.subtitle:
                emit(f'<row r="2">{_inline(form.subtitle, STYLE["subtitle"])}</row>')
                merges.append(f"A2:{last_col}2")
                r = 3
            # Column titles wrap in their column; the row is as tall as the longest one.
            header_lines = max(wrapped_lines(str(c.header), c.width) for c in columns)
            emit(
                f'<row r="{r}" ht="{row_height(header_lines)}" customHeight="1">'
                + "".join(_inline(str(c.header), STYLE["header"]) for c in columns)
                + "</row>"
            )
            first_data = r + 1
            r = first_data
            buffer: list[str] = []
            flush_every = 512
            if summed:
                for values in rows:
                    buffer.append(write_row(values, r))
                    for i in summed:
                        value = values[i]
                        if value is not None:
                            sums[i] += value
                    r += 1
                    if len(buffer) >= flush_every:
                        emit("".join(buffer))
                        buffer.clear()
            else:
                for values in rows:
                    buffer.append(write_row(values, r))
                    r += 1
                    if len(buffer) >= flush_every:
                        emit("".join(buffer))
                        buffer.clear()
            emit("".join(buffer))
            count = r - first_data
            last_data = r - 1

            if form.total_label is not None:
                if totals is None:
                    totals = [sums[i] if columns[i].total else None for i in range(ncols)]
                cells = []
                for i, column in enumerate(columns):
                    value = form.total_label if i == 0 else totals[i]
                    if i == 0:
                        cells.append(_inline(value, STYLE["total"]))
                    elif value is None or isinstance(value, str):
                        cells.append(
                            _inline(value, STYLE["total"]) if value else f'<c s="{STYLE["total"]}"/>'
                        )
                    else:
                        style = STYLE.get("total " + column.kind, STYLE["total"])
                        cells.append(f'<c s="{style}"><v>{_number(value)}</v></c>')
                emit(f'<row r="{r}">{"".join(cells)}</row>')
                r += 1

            # The signature block: a blank row, then 制表人 / 审核人 / 负责人 / 制表日期 spread
            # over four groups of columns, then （盖章） under the last group.
            r += 1
            groups = _signature_groups(columns, len(form.signature))
            labels = list(form.signature)
            if labels and form.prepared_on:
                labels[-1] = labels[-1] + form.prepared_on
            cells = []
            for (first, last), label in zip(groups, labels, strict=False):
                cells.append(_inline(label, STYLE["signature"], column_letter(first) + str(r)))
                if last > first:
                    merges.append(f"{column_letter(first)}{r}:{column_letter(last)}{r}")
            emit(f'<row r="{r}" ht="30" customHeight="1">{"".join(cells)}</row>')
            if form.stamp and groups:
                r += 2
                first, last = groups[-1]
                emit(
                    f'<row r="{r}" ht="30" customHeight="1">'
                    f"{_inline(form.stamp, STYLE['signature'], column_letter(first) + str(r))}</row>"
                )
                if last > first:
                    merges.append(f"{column_letter(first)}{r}:{column_letter(last)}{r}")
            sheet.last_row = r

            tail = "</sheetData>"
            if autofilter and count:
                tail += f'<autoFilter ref="A{first_data - 1}:{last_col}{last_data}"/>'
            tail += f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges)
            tail += "</mergeCells>"
            tail += (
                '<printOptions horizontalCentered="1"/>'
                '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.6" header="0.3" footer="0.3"/>'
                # 9 = A4; fit to one page wide, as many pages tall as needed.
                '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
                "<headerFooter><oddFooter>&amp;C第 &amp;P 页 共 &amp;N 页</oddFooter></headerFooter>"
            )
            emit(tail + "</worksheet>")
        sheet.rows_written = count
        sheet.written = True
        return count

    def close(self) -> None:
        if self._closed:
            return
        missing = [s.name for s in self._sheets if not s.written]
        if missing:
            self._zip.close()
            raise ValueError(f"sheets never written: {missing}")
        if not self._sheets:
            self._zip.close()
            raise ValueError("a workbook needs at least one sheet")
        z = self._zip
        z.writestr("[Content_Types].xml", self._content_types())
        z.writestr("_rels/.rels", _ROOT_RELS)
        z.writestr("docProps/app.xml", _APP_XML)
        z.writestr("docProps/core.xml", _core_xml())
        z.writestr("xl/workbook.xml", self._workbook_xml())
        z.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels())
        z.writestr("xl/styles.xml", _styles_xml())
        if self._shared.index:
            z.writestr("xl/sharedStrings.xml", self._shared.xml())
        z.close()
        self._closed = True

    def _content_types(self) -> str:
        shared = (
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            if self._shared.index
            else ""
        )
        sheets = "".join(
            f'<Override PartName="/{s.part}" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for s in self._sheets
        )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{sheets}{shared}"
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            "</Types>"
        )

    def _workbook_xml(self) -> str:
        sheets = "".join(
            f'<sheet name={quoteattr(s.name)} sheetId="{s.index + 1}" r:id="rId{s.index + 1}"/>'
            for s in self._sheets
        )
        names = "".join(
            # Print titles: the title and column-title rows on every printed page.
            f'<definedName name="_xlnm.Print_Titles" localSheetId="{s.index}">'
            f"{escape(_quote_sheet(s.name))}!$1:${s.form.header_rows}</definedName>"
            for s in self._sheets
            if s.form is not None
        )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<workbookPr/><bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets><definedNames>{names}</definedNames>"
            '<calcPr calcId="191029"/></workbook>'
        )

    def _workbook_rels(self) -> str:
        rels = "".join(
            f'<Relationship Id="rId{s.index + 1}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{s.index + 1}.xml"/>'
            for s in self._sheets
        )
        styles_id = len(self._sheets) + 1
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}"
            f'<Relationship Id="rId{styles_id}" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
            'Target="styles.xml"/>'
            + (
                f'<Relationship Id="rId{styles_id + 1}" '
                'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                'Target="sharedStrings.xml"/>'
                if self._shared.index
                else ""
            )
            + "</Relationships>"
        )


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _inline(value, style: int, ref: str | None = None) -> str:
    """A string cell outside the data rows (title, header, totals, signatures)."""
    r = f' r="{ref}"' if ref else ""
    text = safe_text(value)
    if not text:
        return f'<c{r} s="{style}"/>'
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c{r} s="{style}" t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _signature_groups(columns: Sequence[Column], n: int) -> list[tuple[int, int]]:
    """Split the columns (1-based) into ``n`` consecutive groups of about equal width."""
    if n <= 0:
        return []
    if len(columns) < n:
        return [(i, i) for i in range(1, len(columns) + 1)][:n]
    total = sum(c.width for c in columns)
    groups, start, acc = [], 1, 0.0
    for index, column in enumerate(columns, start=1):
        acc += column.width
        remaining_groups = n - len(groups) - 1
        remaining_columns = len(columns) - index
        if remaining_groups and (
            acc >= total * (len(groups) + 1) / n or remaining_columns == remaining_groups
        ):
            groups.append((start, index))
            start = index + 1
    groups.append((start, len(columns)))
    return groups


_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
    'Target="docProps/app.xml"/></Relationships>'
)
_APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel</Application></Properties>"
)


def _core_xml() -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def write_form(
    target: str | IO[bytes],
    *,
    form: Form,
    rows: Iterable[Sequence[Any]],
    sheet_name: str,
    totals: Sequence[Any] | None = None,
) -> int:
    """Write a one-sheet form (a list export, the bank's payment file) to ``target``.

    ``rows`` yield one value per column of ``form.columns``, already converted (see
    ``Column``); the 合计 row sums the columns marked ``total`` unless ``totals`` is given.
    Returns the number of data rows. Example (a bank file)::

        columns = [Column("序号", 6, INTEGER), Column("姓名", 10), Column("身份证号码", 21, ID_TEXT),
                   Column("金额（元）", 12, MONEY, total=True)]
        write_form(path, form=Form(title="代发文件", columns=columns), rows=rows, sheet_name="代发")
    """
    with FormWorkbook(target) as wb:
        return wb.write_sheet(wb.add_sheet(sheet_name), form, rows, totals=totals)
