"""Excel imports: read an .xlsx, check every row, report every error, then write everything
or nothing.

An import is declared as an :class:`ImportSpec`: its columns (each a small parser with the
header printed on the template) and three hooks:

* ``check_row(values, ctx)``: rules across the cells of one row (no database);
* ``check_all(rows, ctx, errors)``: rules that need the database or several rows, run
  inside the write transaction after ``lock(ctx)`` so what was checked is what is written;
* ``write(rows, ctx)``: the writes, idempotent (update-or-create by natural keys), returning
  an :class:`ImportResult`.

:func:`run_import` drives it. The file is refused with a clear message and nothing changes
when it is too large, not a real .xlsx (a renamed .txt or .xls, a password-protected file),
has missing, renamed or unknown columns, too many rows, or any cell or row error. Errors
are ``(row, column, message)`` with the Excel row number and the column's header.

Why cells that hold numbers are refused in text columns: Excel turns a long digit string
typed into a General cell into a float (``3.30102E+17``) and the last digits are lost
for good; the only safe answer is "format the column as text and type it again".
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ApplicationError
from core.identity import normalize_resident_id, validate_resident_id

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ROWS = 100_000
# A 10 MB .xlsx can inflate a hundredfold; refuse a zip bomb before parsing it.
DEFAULT_MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024


def max_bytes() -> int:
    return getattr(settings, "XLSX_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_rows() -> int:
    return getattr(settings, "XLSX_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the Excel row number; 0 for the whole file
    column: str  # the column's header as printed on the template; "" for the whole row
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class ImportRejected(ApplicationError):
    """Nothing was written. ``detail = {"errors": [{"row", "column", "message"}], "error_count"}``."""

    def __init__(self, code: str, message, errors: Sequence[RowError]):
        errors = sorted(errors, key=lambda e: (e.row, e.column))
        super().__init__(
            code,
            message,
            {"errors": [e.as_dict() for e in errors], "error_count": len(errors)},
        )
        self.errors = list(errors)


class CellError(Exception):
    """A cell's value is not acceptable; the message is shown to the user."""


class ErrorList:
    def __init__(self):
        self.items: list[RowError] = []

    def add(self, row: int, column, message) -> None:
        header = str(column.header) if isinstance(column, Column) else str(column or "")
        self.items.append(RowError(row, header, str(message)))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)


# --------------------------------------------------------------------------- columns


def _normalise_header(text: Any) -> str:
    value = str(text or "").strip().rstrip("*").strip()
    value = value.replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", value).casefold()


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Column:
    """One column of an import: a key in the row dict, a header and a parser.

    ``aliases`` are further header texts accepted (older templates). The header is matched
    in the active language, in Chinese and as the English msgid, so a file made from the
    template in either language reads the same.
    """

    kind = "text"
    text_format = False  # write the template column as text ("@")

    def __init__(
        self, key: str, header, *, required: bool = True, aliases: Sequence[str] = (), width: int = 16
    ):
        self.key = key
        self.header = header
        self.required = required
        self.aliases = tuple(aliases)
        self.width = width

    def accepted_headers(self) -> set[str]:
        texts = {str(self.header), *self.aliases}
        # "en" has no catalogue, so it yields the msgid.
        for language in ("zh-hans", "en"):
            with translation.override(language):
                texts.add(str(self.header))
        return {_normalise_header(t) for t in texts}

    def parse(self, value: Any) -> Any:
        if _is_blank(value):
            if self.required:
                raise CellError(_("This cell is required."))
            return self.empty()
        return self.convert(value)

    def empty(self) -> Any:
        return ""

    def convert(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        return _("text")

    def choices_for_template(self) -> list[str] | None:
        return None


class TextColumn(Column):
    """Text. ``strict``: a number in the cell is an error (identity and certificate numbers)."""

    text_format = True

    def __init__(self, key, header, *, max_length: int | None = None, strict: bool = False, **kwargs):
        super().__init__(key, header, **kwargs)
        self.max_length = max_length
        self.strict = strict

    def convert(self, value: Any) -> str:
        if isinstance(value, bool):
            raise CellError(_("Expected text."))
        if isinstance(value, int | float | Decimal):
            if self.strict:
                raise CellError(
                    _(
                        "A number where text belongs (%(value)s): format the column as text and type the value again."
                    )
                    % {"value": value}
                )
            if isinstance(value, float) and not value.is_integer():
                raise CellError(_("Expected text, got the number %(value)s.") % {"value": value})
            value = str(int(value))
        if isinstance(value, datetime.date | datetime.datetime | datetime.time):
            raise CellError(_("Expected text, got a date."))
        text = str(value).strip()
        if self.max_length is not None and len(text) > self.max_length:
            raise CellError(_("At most %(n)d characters.") % {"n": self.max_length})
        return text


class ResidentIdColumn(TextColumn):
    """An 18-character resident ID number (GB 11643), checked with python-stdnum."""

    def __init__(self, key, header, **kwargs):
        kwargs.setdefault("width", 22)
        super().__init__(key, header, max_length=None, strict=True, **kwargs)

    # A learning log repeats each trainee's number on every session's row: numbers already
    # found valid are not checked again (bounded, so a long-lived worker does not grow).
    _valid: dict[str, str] = {}

    def convert(self, value: Any) -> str:
        if isinstance(value, str) and value in self._valid:
            return self._valid[value]
        text = normalize_resident_id(super().convert(value))
        try:
            validate_resident_id(text)
        except ValidationError as exc:
            raise CellError(" ".join(str(m) for m in exc.messages)) from None
        if isinstance(value, str):
            if len(self._valid) > 50_000:
                self._valid.clear()
            self._valid[value] = text
        return text

    def describe(self) -> str:
        return _("18-character resident ID number, as text")


class DecimalColumn(Column):
    kind = "number"

    def __init__(self, key, header, *, min_value=None, max_value=None, places: int = 2, **kwargs):
        super().__init__(key, header, **kwargs)
        self.min_value = None if min_value is None else Decimal(min_value)
        self.max_value = None if max_value is None else Decimal(max_value)
        self.places = places

    def empty(self) -> Any:
        return None

    def convert(self, value: Any) -> Decimal:
        if isinstance(value, bool | datetime.date):
            raise CellError(_("Expected a number."))
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise CellError(_("Expected a number, got “%(value)s”.") % {"value": value}) from None
        if not number.is_finite():
            raise CellError(_("Expected a number."))
        if number != number.quantize(Decimal(1).scaleb(-self.places)):
            raise CellError(_("At most %(n)d decimal places.") % {"n": self.places})
        if self.min_value is not None and number < self.min_value:
            raise CellError(_("Must be at least %(n)s.") % {"n": self.min_value})
        if self.max_value is not None and number > self.max_value:
            raise CellError(_("Must be at most %(n)s.") % {"n": self.max_value})
        return number

    def describe(self) -> str:
        return _("number")


class IntegerColumn(DecimalColumn):
    def __init__(self, key, header, **kwargs):
        super().__init__(key, header, places=0, **kwargs)

    def convert(self, value: Any) -> int:
        return int(super().convert(value))

    def describe(self) -> str:
        return _("whole number")


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")


class DateColumn(Column):
    kind = "date"

    def empty(self) -> Any:
        return None

    def convert(self, value: Any) -> datetime.date:
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            text = value.strip()
            if len(text) == 10 and text[4] == "-":
                try:  # the common case, in C: a long log repeats it on every row
                    return datetime.date.fromisoformat(text)
                except ValueError:
                    pass
            for fmt in _DATE_FORMATS:
                try:
                    return datetime.datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
        raise CellError(_("Expected a date such as 2024-03-29, got “%(value)s”.") % {"value": value})

    def describe(self) -> str:
        return _("date, e.g. 2024-03-29")


_TIME_FORMATS = ("%H:%M", "%H:%M:%S")


class TimeColumn(Column):
    """A time of day: 09:00 or 09:00:00 (a text cell), or Excel's time value."""

    kind = "time"

    def empty(self) -> Any:
        return None

    def convert(self, value: Any) -> datetime.time:
        if isinstance(value, datetime.datetime):
            return value.time()
        if isinstance(value, datetime.time):
            return value
        if isinstance(value, str):
            text = value.strip().replace("：", ":")
            if len(text) == 5 and text[2] == ":":
                try:  # the common case, in C
                    return datetime.time.fromisoformat(text)
                except ValueError:
                    pass
            for fmt in _TIME_FORMATS:
                try:
                    return datetime.datetime.strptime(text, fmt).time()
                except ValueError:
                    continue
        raise CellError(_("Expected a time such as 09:00, got “%(value)s”.") % {"value": value})

    def describe(self) -> str:
        return _("time, e.g. 09:00")


_DATETIME_FORMATS = tuple(f"{d} {t}" for d in ("%Y-%m-%d", "%Y/%m/%d") for t in ("%H:%M:%S", "%H:%M")) + (
    "%Y-%m-%dT%H:%M:%S",
)


class DateTimeColumn(Column):
    """A date and time (2024-03-01 09:00:05), in Zhejiang local time unless it says otherwise."""

    kind = "datetime"

    def __init__(self, key, header, **kwargs):
        kwargs.setdefault("width", 20)
        super().__init__(key, header, **kwargs)

    def empty(self) -> Any:
        return None

    def convert(self, value: Any) -> datetime.datetime:
        if isinstance(value, datetime.datetime):
            moment = value
        elif isinstance(value, str):
            text = value.strip()
            moment = None
            if len(text) == 19 and text[4] == "-" and text[10] in " T":
                try:  # the common case, in C
                    moment = datetime.datetime.fromisoformat(text)
                except ValueError:
                    moment = None
            for fmt in () if moment is not None else _DATETIME_FORMATS:
                try:
                    moment = datetime.datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            if moment is None:
                raise CellError(
                    _("Expected a date and time such as 2024-03-01 09:00:05, got “%(value)s”.")
                    % {"value": value}
                )
        else:
            raise CellError(
                _("Expected a date and time such as 2024-03-01 09:00:05, got “%(value)s”.") % {"value": value}
            )
        if moment.utcoffset() is None:
            # The settings' zone (Asia/Shanghai), looked up once: a log has a time on every row.
            moment = moment.replace(tzinfo=timezone.get_default_timezone())
        return moment

    def describe(self) -> str:
        return _("date and time, e.g. 2024-03-01 09:00:05")


class ChoiceColumn(Column):
    """One of a fixed list, written as its label (in Chinese or English) or its code."""

    text_format = True

    def __init__(
        self,
        key,
        header,
        *,
        choices: Iterable[tuple[Any, Any]],
        extra: dict[str, Any] | None = None,
        **kwargs,
    ):
        super().__init__(key, header, **kwargs)
        self.choices = list(choices)
        self.extra = dict(extra or {})  # further spellings accepted, e.g. {"不合格": "failed"}
        self._lookup: dict[str, Any] | None = None

    def lookup(self) -> dict[str, Any]:
        if self._lookup is None:
            table: dict[str, Any] = {}
            for value, label in self.choices:
                table[_normalise_header(value)] = value
                for language in ("zh-hans", "en"):
                    with translation.override(language):
                        table[_normalise_header(label)] = value
            for text, value in self.extra.items():
                table.setdefault(_normalise_header(text), value)
            self._lookup = table
        return self._lookup

    def convert(self, value: Any) -> Any:
        found = self.lookup().get(_normalise_header(value))
        if found is None:
            raise CellError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": value, "choices": "、".join(self.choices_for_template())}
            )
        return found

    def choices_for_template(self) -> list[str]:
        return [str(label) for _value, label in self.choices]

    def describe(self) -> str:
        return _("one of: %(choices)s") % {"choices": "、".join(self.choices_for_template())}


class BooleanColumn(ChoiceColumn):
    def __init__(self, key, header, *, yes=None, no=None, **kwargs):
        yes = yes or gettext_lazy("Passed")
        no = no or gettext_lazy("Failed")
        super().__init__(key, header, choices=[(True, yes), (False, no)], **kwargs)

    def lookup(self) -> dict[str, Any]:
        if self._lookup is None:
            table = dict(super().lookup())
            for word in ("是", "yes", "y", "true", "1", "合格", "通过", "passed", "pass"):
                table.setdefault(word, True)
            for word in ("否", "no", "n", "false", "0", "不合格", "未通过", "不通过", "failed", "fail"):
                table.setdefault(word, False)
            self._lookup = table
        return self._lookup

    def convert(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        return super().convert(value)

    def empty(self) -> Any:
        return None


class LookupColumn(Column):
    """A reference to a row elsewhere (a city by name or code): ``resolve(text)`` -> object or None.

    ``resolve`` is given at run time (``spec.prepare``) so the lookup table is loaded once.
    """

    text_format = True

    def __init__(self, key, header, *, noun, **kwargs):
        super().__init__(key, header, **kwargs)
        self.noun = noun
        self.resolve: Callable[[str], Any] | None = None

    def empty(self) -> Any:
        return None

    def convert(self, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        assert self.resolve is not None, "prepare() must set resolve"
        found = self.resolve(text)
        if found is None:
            raise CellError(_("Unknown %(noun)s “%(value)s”.") % {"noun": self.noun, "value": text})
        return found


# --------------------------------------------------------------------------- specs


@dataclass(slots=True)
class Row:
    number: int
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            **self.extra,
        }


class ImportSpec:
    """Subclass and declare ``slug``, ``title`` and ``columns``; override the hooks."""

    slug: str = ""
    title = ""
    columns: Sequence[Column] = ()
    # Keys whose values identify a row; a second row with the same values is an error.
    natural_key: Sequence[str] = ()
    # A sheet of notes in the template, one line each.
    notes: Sequence[Any] = ()
    # Further header texts accepted per column key: the headers of the forms people
    # already use (姓名, 身份证号) and of older templates.
    header_aliases: dict[str, Sequence[str]] = {}
    # Limits of this kind of file, where they differ from the settings' (a learning log of
    # a large online class is longer than any roster); None: the settings' limits.
    max_rows: int | None = None
    max_bytes: int | None = None
    # Whether a .csv file is accepted beside the .xlsx (an online platform's export).
    accepts_csv: bool = False

    def row_limit(self) -> int:
        return self.max_rows or max_rows()

    def byte_limit(self) -> int:
        return self.max_bytes or max_bytes()

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)

    def prepare(self, ctx: dict[str, Any]) -> None:
        """Load lookup tables before rows are parsed (no writes)."""

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        """Rules across the cells of one row that parsed cleanly."""

    def lock(self, ctx: dict[str, Any]) -> None:
        """Take the row locks that serialise this import (inside the transaction)."""

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        """Rules needing the database or several rows, run on the rows that parsed cleanly."""

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------- reading


def _read_bytes(upload) -> bytes:
    if isinstance(upload, bytes | bytearray):
        return bytes(upload)
    if hasattr(upload, "chunks"):
        return b"".join(upload.chunks())
    if hasattr(upload, "read"):
        return upload.read()
    with open(upload, "rb") as fh:
        return fh.read()


def _size_of(upload) -> int | None:
    size = getattr(upload, "size", None)
    if size is not None:
        return size
    if isinstance(upload, bytes | bytearray):
        return len(upload)
    return None


# What one workbook may hold before anything is parsed. openpyxl keeps every shared string
# and every style in memory (read-only mode included), so those parts are bounded by their
# unpacked size, which zipfile enforces while reading (a part longer than its header says
# fails its CRC check). A 16 MB string table of the smallest strings costs about 90 MB of
# Python objects (32 MB took a process to 309 MB; core/tests/test_xlsx_hostile.py).
MAX_ARCHIVE_MEMBERS = 2000
MAX_WORKSHEETS = 64
MAX_COLUMNS = 256
PART_LIMITS = {
    "xl/sharedStrings.xml": 16 * 1024 * 1024,
    "xl/styles.xml": 8 * 1024 * 1024,
    "xl/workbook.xml": 1024 * 1024,
}
# Any other part but the worksheets is small in a real workbook (themes, properties, rels).
OTHER_PART_LIMIT = 8 * 1024 * 1024
# A DTD is never part of an Office Open XML file; with one, entity expansion ("billion
# laughs") or external entities could follow. Looked for in the first bytes of every part
# (where a DTD must stand, before the root element) in UTF-8 and UTF-16; defusedxml, which
# openpyxl uses when installed, refuses entities anywhere as the second line of defence.
_DTD_MARKERS = (b"<!doctype", b"<!entity", "<!doctype".encode("utf-16-le"), "<!doctype".encode("utf-16-be"))
_DTD_SCAN_BYTES = 64 * 1024


def _rejected(code: str, message) -> ImportRejected:
    return ImportRejected(code, message, [RowError(0, "", message)])


def _not_xlsx() -> ImportRejected:
    return ImportRejected(
        "not_an_xlsx",
        _(
            "The file is not a real Excel workbook (.xlsx). Open it in Excel and save it as “Excel Workbook (.xlsx)”."
        ),
        [RowError(0, "", _("The file is not a real Excel workbook (.xlsx)."))],
    )


def _too_complex() -> ImportRejected:
    return _rejected(
        "workbook_too_complex",
        _(
            "The workbook holds more than an import needs (too many sheets, styles or texts). Copy the "
            "data into the downloaded template, one sheet, values only, and upload that."
        ),
    )


def _inspect_archive(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts would cost too much to parse, before openpyxl sees it."""
    infos = archive.infolist()
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names:
        raise _not_xlsx()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        raise _too_complex()
    limit = getattr(settings, "XLSX_IMPORT_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED_BYTES)
    if sum(info.file_size for info in infos) > limit:
        raise _rejected("file_too_large", _("The workbook is too large once unpacked."))
    worksheets = [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    if len(worksheets) > MAX_WORKSHEETS:
        raise _too_complex()
    for info in infos:
        if info.filename.startswith("xl/worksheets/"):
            continue
        if info.file_size > PART_LIMITS.get(info.filename, OTHER_PART_LIMIT):
            raise _too_complex()
    for info in infos:
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(info) as part:
            head = part.read(_DTD_SCAN_BYTES).lower()
        if any(marker in head for marker in _DTD_MARKERS):
            raise _rejected(
                "unsafe_workbook",
                _(
                    "The workbook contains a document type declaration, which Excel never writes. "
                    "Open it in Excel, save it as “Excel Workbook (.xlsx)” and upload it again."
                ),
            )


def _is_parser_error(exc: BaseException) -> bool:
    return exc.__class__.__module__.startswith(
        ("xml.", "lxml", "openpyxl", "defusedxml", "zipfile", "et_xmlfile")
    )


def _open_workbook(data: bytes):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        raise _not_xlsx()
    try:
        with zipfile.ZipFile(buffer) as archive:
            _inspect_archive(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError):
        # Damaged, encrypted or compressed with a method zipfile does not read.
        raise _not_xlsx() from None
    buffer.seek(0)
    try:
        return openpyxl.load_workbook(buffer, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError):
        raise _not_xlsx() from None
    except Exception as exc:  # openpyxl raises bare parser errors on damaged XML
        if _is_parser_error(exc):
            raise _not_xlsx() from None
        raise


def _guarded_rows(rows: Iterable) -> Iterable:
    """The sheet's rows, with the XML parser's errors (raised lazily, while reading rows in
    read-only mode) turned into the same refusal as a damaged file."""
    iterator = iter(rows)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError):
            raise _not_xlsx() from None
        except Exception as exc:
            if _is_parser_error(exc):
                raise _not_xlsx() from None
            raise
        yield row


def _match_headers(spec: ImportSpec, header_row: Sequence[Any]) -> tuple[dict[str, int], list[RowError]]:
    wanted = {c.key: c for c in spec.columns}
    by_header: dict[str, Column] = {}
    for column in spec.columns:
        texts = column.accepted_headers()
        texts.update(_normalise_header(t) for t in spec.header_aliases.get(column.key, ()))
        for text in texts:
            by_header.setdefault(text, column)
    positions: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header_row):
        if _is_blank(cell):
            continue
        column = by_header.get(_normalise_header(cell))
        if column is None:
            errors.append(
                RowError(1, str(cell).strip(), _("This column is not in the template (renamed or added?)."))
            )
        elif column.key in positions:
            errors.append(RowError(1, str(cell).strip(), _("This column appears twice.")))
        else:
            positions[column.key] = index
    for key, column in wanted.items():
        if key not in positions and column.required:
            errors.append(RowError(1, str(column.header), _("This column is missing from the file.")))
    return positions, errors


def _too_large(limit: int) -> ImportRejected:
    message = _("The file is larger than %(mb)d MB.") % {"mb": limit // (1024 * 1024)}
    return ImportRejected("file_too_large", message, [RowError(0, "", message)])


def _read_limited(spec: ImportSpec, upload) -> bytes:
    limit = spec.byte_limit()
    size = _size_of(upload)
    if size is not None and size > limit:
        raise _too_large(limit)
    data = _read_bytes(upload)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _is_csv(upload, data: bytes) -> bool:
    name = str(getattr(upload, "name", None) or (upload if isinstance(upload, str) else ""))
    if name.lower().endswith(".csv"):
        return True
    # Without a name (bytes), anything that is not a zip archive is read as CSV.
    return not name and not data.startswith(b"PK")


def parse_upload(spec: ImportSpec, upload, ctx: dict[str, Any]) -> tuple[list[Row], ErrorList]:
    """Parse an .xlsx, or a .csv where the spec accepts one: the same limits, the same checks,
    the same row and column errors, whichever the format."""
    data = _read_limited(spec, upload)
    if spec.accepts_csv and _is_csv(upload, data):
        text = _decode_csv(data)
        del data  # a long log: keep one copy of it in memory, not two
        return _parse_csv_text(spec, text, ctx)
    return parse_workbook(spec, data, ctx)


_NOT_CSV = gettext_lazy("The file is not a CSV text file in UTF-8 or GBK.")


def _decode_csv(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB18030: what Chinese Excel saves
    as "CSV" by default. Binary content (a renamed workbook or image) is refused."""
    if b"\x00" in data[:4096]:
        raise ImportRejected(
            "not_a_csv",
            _("The file is not a CSV text file in UTF-8 or GBK. Save it again as “CSV UTF-8”."),
            [RowError(0, "", str(_NOT_CSV))],
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRejected(
        "not_a_csv",
        _("The file is not a CSV text file in UTF-8 or GBK. Save it again as “CSV UTF-8”."),
        [RowError(0, "", str(_NOT_CSV))],
    )


def _lines(text: str):
    """The text's lines, ends kept, one at a time (no copy of the whole text)."""
    start, length = 0, len(text)
    while start < length:
        end = text.find("\n", start)
        if end == -1:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def parse_csv(spec: ImportSpec, upload, ctx: dict[str, Any]) -> tuple[list[Row], ErrorList]:
    """Check size and encoding, match the header row, parse every cell. No database writes."""
    return _parse_csv_text(spec, _decode_csv(_read_limited(spec, upload)), ctx)


def _parse_csv_text(spec: ImportSpec, text: str, ctx: dict[str, Any]) -> tuple[list[Row], ErrorList]:
    import csv

    try:
        reader = csv.reader(_lines(text))
        header = next(reader, None)
        if header is None:
            raise ImportRejected(
                "import_invalid", _("The file is empty."), [RowError(0, "", _("The file is empty."))]
            )
        return _parse_rows(spec, header, reader, ctx)
    except csv.Error as exc:
        raise ImportRejected(
            "not_a_csv",
            _("The CSV file cannot be read: %(error)s") % {"error": exc},
            [RowError(0, "", _("The CSV file cannot be read: %(error)s") % {"error": exc})],
        ) from None


def parse_workbook(spec: ImportSpec, upload, ctx: dict[str, Any]) -> tuple[list[Row], ErrorList]:
    """Check size and format, match the header row, parse every cell. No database writes."""
    data = _read_limited(spec, upload)
    workbook = _open_workbook(data)
    try:
        sheet = workbook.worksheets[0]
        # Never more columns than a template can have: a row declared 16,384 cells wide (or a
        # sheet whose dimension says XFD) would otherwise be padded to that width, row after row.
        rows_iter = iter(_guarded_rows(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1)))
        header = next(rows_iter, None)
        if header is None:
            raise ImportRejected(
                "import_invalid",
                _("The file is empty."),
                [RowError(0, "", _("The file is empty."))],
            )
        return _parse_rows(spec, header, rows_iter, ctx)
    finally:
        workbook.close()


def _parse_rows(spec: ImportSpec, header, rows_iter, ctx: dict[str, Any]) -> tuple[list[Row], ErrorList]:
    if len(header) > MAX_COLUMNS and not _is_blank(header[MAX_COLUMNS]):
        raise _rejected(
            "columns_invalid",
            _("The sheet has more than %(n)d columns; copy the data into the downloaded template.")
            % {"n": MAX_COLUMNS},
        )
    positions, header_errors = _match_headers(spec, header)
    if header_errors:
        raise ImportRejected(
            "columns_invalid",
            _("The columns do not match the template: download the template and copy the data into it."),
            header_errors,
        )
    spec.prepare(ctx)
    errors = ErrorList()
    rows: list[Row] = []
    seen: dict[tuple, int] = {}
    columns = [(c, positions.get(c.key)) for c in spec.columns]
    limit_rows = spec.row_limit()
    data_rows = 0
    too_many = _("The file has more than %(n)d rows; split it.") % {"n": limit_rows}
    for number, cells in enumerate(rows_iter, start=2):
        # Rows are counted as the sheet has them, blank ones included: a million empty
        # rows cost as much time to read as a million full ones.
        if number - 1 > limit_rows:
            raise ImportRejected("too_many_rows", too_many, [RowError(number, "", too_many)])
        if cells is None or all(_is_blank(v) for v in cells):
            continue
        data_rows += 1
        if data_rows > limit_rows:
            raise ImportRejected(
                "too_many_rows",
                _("The file has more than %(n)d rows; split it.") % {"n": limit_rows},
                [RowError(number, "", _("The file has more than %(n)d rows; split it.") % {"n": limit_rows})],
            )
        values: dict[str, Any] = {}
        row_ok = True
        for column, index in columns:
            raw = cells[index] if index is not None and index < len(cells) else None
            try:
                values[column.key] = column.parse(raw)
            except CellError as exc:
                errors.add(number, column, exc)
                row_ok = False
        if not row_ok:
            continue
        row = Row(number, values)
        before = len(errors)
        spec.check_row(row, ctx, errors)
        if len(errors) != before:
            continue
        if spec.natural_key:
            key = tuple(values[k] for k in spec.natural_key)
            first = seen.get(key)
            if first is not None:
                errors.add(
                    number,
                    spec.column(spec.natural_key[0]),
                    _("Duplicates row %(row)d.") % {"row": first},
                )
                continue
            seen[key] = number
        rows.append(row)
    if data_rows == 0:
        errors.add(0, "", _("The file has no data rows."))
    return rows, errors


def run_import(spec: ImportSpec, upload, *, ctx: dict[str, Any] | None = None) -> ImportResult:
    """Import ``upload`` (an UploadedFile, bytes or a path): everything, or nothing and every error.

    Parsing happens outside the transaction; the database checks and the writes happen in
    one transaction after ``spec.lock`` so nothing can change between check and write.
    """
    ctx = {} if ctx is None else ctx
    rows, errors = parse_upload(spec, upload, ctx)
    with transaction.atomic():
        spec.lock(ctx)
        if rows:
            spec.check_all(rows, ctx, errors)
        if errors:
            raise ImportRejected(
                "import_invalid",
                _("The file has %(n)d errors; nothing was imported.") % {"n": len(errors)},
                errors.items,
            )
        result = spec.write(rows, ctx)
        result.rows = len(rows)
        return result


# --------------------------------------------------------------------------- templates


def build_template(spec: ImportSpec) -> bytes:
    """The downloadable template: the header row (text columns formatted as text, lists as
    drop-downs) and a second sheet that explains every column."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = str(spec.title)[:31] or "data"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=str(column.header))
        cell.font = bold
        cell.fill = fill
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(column.width, len(str(column.header)) * 2 + 2)
        if column.text_format:
            # Excel keeps what is typed into a text-formatted column as text: an ID number
            # never becomes 3.30102E+17.
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
        elif column.kind == "date":
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
        choices = column.choices_for_template()
        if choices:
            validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}100000")
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet(_("Instructions")[:31])
    notes.append([_("Column"), _("Required"), _("Format")])
    for cell in notes[1]:
        cell.font = bold
    for column in spec.columns:
        notes.append([str(column.header), _("yes") if column.required else _("no"), column.describe()])
    notes.append([])
    for line in spec.notes:
        notes.append([str(line)])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["C"].width = 60

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- admin


MAX_ERRORS_SHOWN = 1000


def admin_import_view(
    request,
    *,
    model_admin,
    spec: ImportSpec,
    ctx: dict[str, Any],
    subject: str = "",
    back_url: str,
    template_url: str,
):
    """An admin page with a file field, the template link, and every error in a table.

    Thin: it reads the upload and calls :func:`run_import`; ``ApplicationError`` (a refused
    file, a plan not accepted, a wrong actor) is shown, never a 500.
    """
    from django import forms
    from django.template.response import TemplateResponse

    class UploadForm(forms.Form):
        file = forms.FileField(
            label=_("Excel (.xlsx) or CSV file") if spec.accepts_csv else _("Excel file (.xlsx)")
        )

    result = error_message = None
    errors: list[dict[str, Any]] = []
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = run_import(spec, form.cleaned_data["file"], ctx=ctx).as_dict()
        except ApplicationError as exc:
            error_message = str(exc.message)
            if isinstance(exc, ImportRejected):
                errors = exc.detail["errors"]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": str(spec.title),
        "subject": subject,
        "form": form,
        "result": result,
        "error_message": error_message,
        "errors": errors[:MAX_ERRORS_SHOWN],
        "hidden_errors": max(0, len(errors) - MAX_ERRORS_SHOWN),
        "back_url": back_url,
        "back_label": model_admin.model._meta.verbose_name_plural,
        "template_url": template_url,
    }
    status = 400 if error_message else 200
    return TemplateResponse(request, "admin/xlsx_import.html", context, status=status)


def template_response(spec: ImportSpec):
    """The spec's template as a download."""
    from django.http import HttpResponse

    response = HttpResponse(
        build_template(spec), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{spec.slug}-template.xlsx"'
    return response
