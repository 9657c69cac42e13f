"""The filing reports as print-ready forms (Excel and PDF), streamed from the database.

Each report is declared once, as a ``ReportSpec``: its detail columns (``core.excel.Column``:
header, width, kind, source field, conversion), from which the query's fields, the writer's
cell kinds and the headers all derive; and its summary (汇总), the first sheet, accumulated
from the very rows written to the detail: under READ COMMITTED a second query could see a
claim decided while the report ran, and a filing whose totals disagree with its own rows is
wrong.

Rows come from one ``values_list(...).iterator()`` query (joins, no model instances) and are
written as they arrive, so memory stays flat however many claims a year holds. The PDF holds
the same forms; its detail is kept in memory, so it is drawn for up to ``PDF_MAX_ROWS`` rows
(hundreds of printed pages) and otherwise says so on its first page.

Labels are looked up when the report is built, in the language the caller activated (the
task activates zh-hans: the province receives Chinese column titles).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Sequence
from decimal import Decimal
from sys import intern
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from core.db import stream_values
from core.excel import (
    DATE,
    DECIMAL,
    ID_TEXT,
    INTEGER,
    MONEY,
    SEQUENCE,
    TEXT,
    WRAP_TEXT,
    Column,
    Form,
    FormWorkbook,
)
from institutions.models import PlanStatus
from reference.models import Bureau, Level, Occupation
from reports.models import ReportKind
from reports.pdf import PdfSection, write_pdf
from reports.periods import Period
from reports.selectors import claims_for_report, plans_for_report
from subsidies.models import ClaimBasis, ClaimStatus

# Rows fetched per round trip, and between two progress updates. Large enough that round
# trips cost nothing next to writing the rows, small enough to keep memory flat.
CHUNK_SIZE = 5000
# The PDF's detail is drawn from rows kept in memory: up to this many (about 400 pages).
PDF_MAX_ROWS = 10_000

ProgressCallback = Callable[[int, int], None]


# --------------------------------------------------------------------------- conversions


class ChoiceLabel:
    """A conversion from a choice's value to its label, looked up in the active language."""

    def __init__(self, choices):
        self.choices = choices

    def bind(self) -> Callable[[Any], Any]:
        # A C-level lookup per row, no Python frame: an unknown value shows as itself.
        return _Labels({value: str(label) for value, label in self.choices.choices}).__getitem__


class _Labels(dict):
    def __missing__(self, key):
        return key


class LocalDate:
    """An aware datetime -> its date in Zhejiang (Asia/Shanghai)."""

    def bind(self) -> Callable[[Any], Any]:
        tz = ZoneInfo(settings.TIME_ZONE)
        now = timezone.now()
        offsets = {
            datetime.datetime(year, month, 1, tzinfo=tz).utcoffset()
            for year in range(2023, now.year + 2)
            for month in (1, 4, 7, 10)
        }
        if len(offsets) == 1:
            # No daylight saving in the years the programme runs (China: none since 1991): one
            # addition instead of a time-zone conversion per row. Earlier values convert fully.
            offset = offsets.pop()
            since = datetime.datetime(2023, 1, 1, tzinfo=tz).astimezone(datetime.UTC)
            return lambda v: (
                None if v is None else (v + offset).date() if v >= since else v.astimezone(tz).date()
            )
        return lambda v: v.astimezone(tz).date() if v is not None else None


def bound(convert):
    if convert is None:
        return None
    return convert.bind() if hasattr(convert, "bind") else convert


# --------------------------------------------------------------------------- specs


@dataclasses.dataclass(frozen=True)
class ReportSpec:
    """A report: its detail columns, its rows, its summary.

    ``summary_fields`` are the raw fields the summary reads besides the columns' sources;
    ``summarise(index)`` returns ``(add, finish)``: ``add(raw_row)`` for each row written,
    ``finish()`` -> (summary rows, totals row).
    """

    kind: str
    detail_sheet: Any
    columns: tuple[Column, ...]
    queryset: Callable[[Bureau, Period], QuerySet]
    summary_columns: tuple[Column, ...]
    summary_fields: tuple[str, ...]
    summarise: Callable[[dict[str, int]], tuple[Callable, Callable]]
    # The aware datetime the rows are ordered by, inside the period: how far it has got is
    # the progress, without counting the rows first (a count costs a tenth of the query).
    progress_field: str = ""

    def query_fields(self) -> tuple[str, ...]:
        """The fields fetched: every column's source, then what only the summary reads."""
        fields: list[str] = []
        extra = [self.progress_field] if self.progress_field else []
        for source in [c.source for c in self.columns] + list(self.summary_fields) + extra:
            if source not in (None, SEQUENCE) and source not in fields:
                fields.append(source)
        return tuple(fields)


def row_converter(columns: Sequence[Column], index: dict[str, int]) -> Callable[[tuple, int], tuple]:
    """``(raw_row, number) -> cell values`` for ``columns``, conversions bound now.

    Generated as one expression (``(n, raw[0], conv2(raw[3]), ...)``): a generic loop over
    the columns costs more per row than writing the row does.
    """
    namespace: dict[str, Any] = {}
    parts = []
    for position, column in enumerate(columns):
        if column.source == SEQUENCE:
            parts.append("n")
            continue
        convert = bound(column.convert)
        if convert is None:
            parts.append(f"raw[{index[column.source]}]")
        else:
            namespace[f"conv{position}"] = convert
            parts.append(f"conv{position}(raw[{index[column.source]}])")
    source = f"def convert(raw, n):\n    return ({', '.join(parts)},)\n"
    exec(compile(source, "<row converter>", "exec"), namespace)  # noqa: S102
    return namespace["convert"]


def _occupation_order() -> dict[int, int]:
    return {pk: index for index, pk in enumerate(Occupation.objects.values_list("pk", flat=True))}


def _sorted_groups(groups: dict) -> list:
    order = _occupation_order()
    return sorted(groups, key=lambda k: (order.get(k[0], len(order)), Level.rank(k[1])))


# Headers carry the context "report column" so that the Chinese titles SPEC.md prescribes are
# translated exactly; the comment above each gives the translator the title.
def _col(header, width, kind=TEXT, source=None, convert=None, total=False, unique=False) -> Column:
    return Column(
        header=header, width=width, kind=kind, source=source, convert=convert, total=total, unique=unique
    )


SEQUENCE_COLUMN = _col(pgettext_lazy("report column", "No."), 6, INTEGER, SEQUENCE)  # 序号

CLAIM_COLUMNS = (
    SEQUENCE_COLUMN,
    # Translators: 姓名
    _col(pgettext_lazy("report column", "Name"), 10, TEXT, "trainee__name", unique=True),
    # Translators: 身份证号码
    _col(pgettext_lazy("report column", "Resident ID number"), 21, ID_TEXT, "trainee__resident_id"),
    # Translators: 职业
    _col(pgettext_lazy("report column", "Occupation"), 16, WRAP_TEXT, "occupation__name"),
    # Translators: 等级
    _col(pgettext_lazy("report column", "Level"), 6, TEXT, "level", ChoiceLabel(Level)),
    # Translators: 培训机构
    _col(
        pgettext_lazy("report column", "Training institution"),
        18,
        WRAP_TEXT,
        "training_certificate__institution__name",
    ),
    # Translators: 培训合格证书编号
    _col(
        pgettext_lazy("report column", "Training certificate number"),
        18,
        ID_TEXT,
        "training_certificate__number",
    ),
    # Translators: 专业技术等级证书编号
    _col(
        pgettext_lazy("report column", "Level certificate number"), 20, ID_TEXT, "level_certificate__number"
    ),
    # Translators: 发证日期
    _col(pgettext_lazy("report column", "Issue date"), 11.5, DATE, "level_certificate__issued_on"),
    # Translators: 申领地
    _col(pgettext_lazy("report column", "Place of claim"), 8, TEXT, "bureau__city__name"),
    # Translators: 申领依据
    _col(pgettext_lazy("report column", "Basis of claim"), 16, WRAP_TEXT, "basis", ChoiceLabel(ClaimBasis)),
    # Translators: 补贴标准（元）
    _col(pgettext_lazy("report column", "Subsidy standard (yuan)"), 13, MONEY, "standard__amount"),
    # The computation under the city's measure: standard × share + uplift = amount.
    # Translators: 享受比例（%）
    _col(pgettext_lazy("report column", "Share (%)"), 9, DECIMAL, "share_percent"),
    # Translators: 紧缺职业上浮（元）
    _col(pgettext_lazy("report column", "Shortage uplift (yuan)"), 11, MONEY, "uplift_amount"),
    # Translators: 补贴金额（元）
    _col(pgettext_lazy("report column", "Subsidy amount (yuan)"), 13, MONEY, "amount", total=True),
    # Translators: 审核状态
    _col(pgettext_lazy("report column", "Review status"), 9, TEXT, "status", ChoiceLabel(ClaimStatus)),
    # Translators: 审核日期
    _col(pgettext_lazy("report column", "Review date"), 11.5, DATE, "decided_at", LocalDate()),
    # Translators: 拨付日期
    _col(pgettext_lazy("report column", "Payment date"), 11.5, DATE, "paid_on"),
)

CLAIM_SUMMARY_COLUMNS = (
    # Translators: 职业
    _col(pgettext_lazy("report column", "Occupation"), 20, WRAP_TEXT),
    # Translators: 等级
    _col(pgettext_lazy("report column", "Level"), 8),
    # Translators: 审核件数
    _col(pgettext_lazy("report column", "Claims decided"), 11, INTEGER, total=True),
    # Translators: 补贴金额合计（元）
    _col(pgettext_lazy("report column", "Total of amounts (yuan)"), 18, MONEY, total=True),
    # Translators: 审核通过件数
    _col(pgettext_lazy("report column", "Approved"), 13, INTEGER, total=True),
    # Translators: 审核通过金额（元）
    _col(pgettext_lazy("report column", "Approved amount (yuan)"), 18, MONEY, total=True),
    # Translators: 不予通过件数
    _col(pgettext_lazy("report column", "Rejected"), 13, INTEGER, total=True),
)


def _claims_summary(index: dict[str, int]):
    occupation_id, occupation, level, amount, status = (
        index[f] for f in ("occupation_id", "occupation__name", "level", "amount", "status")
    )
    approved = {ClaimStatus.APPROVED.value, ClaimStatus.PAID.value}
    rejected = ClaimStatus.REJECTED.value
    # (occupation id, level) -> [occupation name, count, amount, approved, approved amount, rejected]
    groups: dict[tuple[int, str], list] = {}

    def add(raw) -> None:
        key = (raw[occupation_id], raw[level])
        group = groups.get(key)
        if group is None:
            group = groups[key] = [raw[occupation], 0, Decimal(0), 0, Decimal(0), 0]
        group[1] += 1
        group[2] += raw[amount]
        if raw[status] in approved:
            group[3] += 1
            group[4] += raw[amount]
        elif raw[status] == rejected:
            group[5] += 1

    def finish():
        levels = ChoiceLabel(Level).bind()
        return [[groups[k][0], levels(k[1]), *groups[k][1:]] for k in _sorted_groups(groups)], None

    return add, finish


PLAN_COLUMNS = (
    SEQUENCE_COLUMN,
    # Translators: 培训机构
    _col(pgettext_lazy("report column", "Training institution"), 18, WRAP_TEXT, "institution__name"),
    # Translators: 统一社会信用代码
    _col(
        pgettext_lazy("report column", "Unified social credit code"), 20, ID_TEXT, "institution__credit_code"
    ),
    # Translators: 所在地
    _col(pgettext_lazy("report column", "City"), 8, TEXT, "institution__city__name"),
    # Translators: 班级名称
    _col(pgettext_lazy("report column", "Class name"), 18, WRAP_TEXT, "title", unique=True),
    # Translators: 职业
    _col(pgettext_lazy("report column", "Occupation"), 14, WRAP_TEXT, "occupation__name"),
    # Translators: 方向
    _col(pgettext_lazy("report column", "Direction"), 14, WRAP_TEXT, "direction__name"),
    # Translators: 等级
    _col(pgettext_lazy("report column", "Level"), 6, TEXT, "level", ChoiceLabel(Level)),
    # Translators: 开班日期
    _col(pgettext_lazy("report column", "Start date"), 11.5, DATE, "start_date"),
    # Translators: 结业日期
    _col(pgettext_lazy("report column", "End date"), 11.5, DATE, "end_date"),
    # Translators: 线上学时
    _col(pgettext_lazy("report column", "Hours online"), 9, DECIMAL, "hours_online"),
    # Translators: 线下学时
    _col(pgettext_lazy("report column", "Hours offline"), 9, DECIMAL, "hours_offline"),
    # Translators: 班级人数
    _col(pgettext_lazy("report column", "Class size"), 9, INTEGER, "class_size", total=True),
    # Translators: 收费标准（元）
    _col(pgettext_lazy("report column", "Published fee (yuan)"), 11, MONEY, "fee"),
    # Translators: 评价机构
    _col(pgettext_lazy("report column", "Evaluation institution"), 16, WRAP_TEXT, "evaluator__name"),
    # Translators: 备案机关
    _col(pgettext_lazy("report column", "Filing authority"), 16, WRAP_TEXT, "filing_authority__name"),
    # Translators: 备案状态
    _col(pgettext_lazy("report column", "Filing status"), 10, WRAP_TEXT, "status", ChoiceLabel(PlanStatus)),
    # Translators: 提交备案日期
    _col(pgettext_lazy("report column", "Filing date"), 11.5, DATE, "filed_at", LocalDate()),
    # Translators: 审核日期
    _col(pgettext_lazy("report column", "Review date"), 11.5, DATE, "decided_at", LocalDate()),
)

PLAN_SUMMARY_COLUMNS = (
    # Translators: 职业
    _col(pgettext_lazy("report column", "Occupation"), 20, WRAP_TEXT),
    # Translators: 等级
    _col(pgettext_lazy("report column", "Level"), 8),
    # Translators: 计划数
    _col(pgettext_lazy("report column", "Plans filed"), 10, INTEGER, total=True),
    # Translators: 计划培训人数
    _col(pgettext_lazy("report column", "Planned trainees"), 14, INTEGER, total=True),
    # Translators: 已备案计划数
    _col(pgettext_lazy("report column", "Plans accepted"), 14, INTEGER, total=True),
)


def _plans_summary(index: dict[str, int]):
    occupation_id, occupation, level, size, status = (
        index[f] for f in ("occupation_id", "occupation__name", "level", "class_size", "status")
    )
    accepted = PlanStatus.ACCEPTED.value
    groups: dict[tuple[int, str], list] = {}

    def add(raw) -> None:
        key = (raw[occupation_id], raw[level])
        group = groups.get(key)
        if group is None:
            group = groups[key] = [raw[occupation], 0, 0, 0]
        group[1] += 1
        group[2] += raw[size]
        if raw[status] == accepted:
            group[3] += 1

    def finish():
        levels = ChoiceLabel(Level).bind()
        return [[groups[k][0], levels(k[1]), *groups[k][1:]] for k in _sorted_groups(groups)], None

    return add, finish


CLAIMS_REPORT = ReportSpec(
    kind=ReportKind.CLAIMS,
    # Translators: sheet name (at most 31 characters), 补贴申领明细
    detail_sheet=pgettext_lazy("report sheet", "Claims"),
    columns=CLAIM_COLUMNS,
    queryset=claims_for_report,
    summary_columns=CLAIM_SUMMARY_COLUMNS,
    summary_fields=("occupation_id", "occupation__name", "level", "amount", "status"),
    summarise=_claims_summary,
    progress_field="decided_at",  # claims_for_report orders by it
)

PLANS_REPORT = ReportSpec(
    kind=ReportKind.PLANS,
    # Translators: sheet name (at most 31 characters), 培训计划明细
    detail_sheet=pgettext_lazy("report sheet", "Plans"),
    columns=PLAN_COLUMNS,
    queryset=plans_for_report,
    summary_columns=PLAN_SUMMARY_COLUMNS,
    summary_fields=("occupation_id", "occupation__name", "level", "class_size", "status"),
    summarise=_plans_summary,
    progress_field="filed_at",  # plans_for_report orders by it
)

REPORTS: dict[str, ReportSpec] = {CLAIMS_REPORT.kind: CLAIMS_REPORT, PLANS_REPORT.kind: PLANS_REPORT}


# --------------------------------------------------------------------------- forms


def report_title(kind: str, bureau: Bureau, period: Period) -> str:
    # Translators: the title row, e.g. 杭州市人力资源和社会保障局 补贴申领备案表（2024年5月）
    return _("%(bureau)s %(report)s (%(period)s)") % {
        "bureau": bureau.name,
        "report": ReportKind(kind).label,
        "period": period.label(),
    }


def signature_labels() -> tuple[str, ...]:
    return (
        # Translators: the signature line under a form: 制表人：
        _("Prepared by: "),
        # Translators: 审核人：
        _("Checked by: "),
        # Translators: 负责人：
        _("Person in charge: "),
        # Translators: 制表日期：
        _("Date: "),
    )


def make_form(title: str, columns, *, subtitle: str = "", with_totals: bool = True) -> Form:
    """A form in the active language: 合计 row, signature block, the date of today."""
    today = timezone.localdate()
    return Form(
        title=title,
        columns=columns,
        subtitle=subtitle,
        # Translators: the first cell of the totals row under a form: 合计
        total_label=_("Total") if with_totals else None,
        signature=signature_labels(),
        prepared_on=_date_label(today),
        # Translators: the stamp mark under a form's signature line: （盖章）
        stamp=_("(Stamp)"),
    )


def _date_label(day) -> str:
    # Translators: 2024年5月31日 (%(year)d年%(month)d月%(day)d日)
    return _("%(year)d-%(month)02d-%(day)02d") % {"year": day.year, "month": day.month, "day": day.day}


def _subtitle(bureau: Bureau, period: Period) -> str:
    # Translators: the line under a report's title: 制表单位：… 统计期间：2024-05-01 至 2024-05-31
    return _("Prepared by: %(bureau)s    Period: %(start)s to %(end)s") % {
        "bureau": bureau.name,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }


@dataclasses.dataclass
class ReportOutput:
    rows: int
    pdf_pages: int | None = None
    pdf_note: str = ""


def build_report(
    spec: ReportSpec,
    *,
    bureau: Bureau,
    period: Period,
    xlsx: IO[bytes],
    pdf: IO[bytes] | None = None,
    progress: ProgressCallback | None = None,
) -> ReportOutput:
    """Write ``spec``'s report of ``bureau`` for ``period``: the workbook to ``xlsx`` (汇总
    first, then the detail) and, if given, the same forms as a PDF to ``pdf``."""
    queryset = spec.queryset(bureau, period)
    fields = spec.query_fields()
    index = {name: i for i, name in enumerate(fields)}
    period_start, period_end = period.bounds()
    span = int((period_end - period_start).total_seconds())
    position = index[spec.progress_field] if spec.progress_field else None
    total = span if position is not None else queryset.count()
    convert = row_converter(spec.columns, index)
    add, finish = spec.summarise(index)
    title = report_title(spec.kind, bureau, period)
    subtitle = _subtitle(bureau, period)
    detail_form = make_form(title, spec.columns, subtitle=subtitle)
    summary_form = make_form(title, spec.summary_columns, subtitle=subtitle)

    kept: list[list] | None = [] if pdf is not None else None
    count = 0

    def detail_rows():
        nonlocal count, kept
        for raw in stream_values(queryset, fields, CHUNK_SIZE):
            count += 1
            values = convert(raw, count)
            add(raw)
            if kept is not None:
                if count <= PDF_MAX_ROWS:
                    # Names of occupations, institutions and cities repeat from row to row
                    # but arrive as new strings: one copy of each is kept for the PDF.
                    kept.append(tuple(intern(v) if type(v) is str else v for v in values))
                else:
                    kept = None  # too long to print: free the rows, the PDF says why
            if progress is not None and count % CHUNK_SIZE == 0:
                if position is None:
                    progress(count, total)
                else:  # seconds of the period covered so far, of its length
                    progress(int((raw[position] - period_start).total_seconds()), total)
            yield values

    with FormWorkbook(xlsx) as wb:
        # Translators: sheet name, 汇总
        summary_sheet = wb.add_sheet(pgettext("report sheet", "Summary"))
        detail_sheet = wb.add_sheet(str(spec.detail_sheet))
        wb.write_sheet(detail_sheet, detail_form, detail_rows())
        summary_rows, summary_totals = finish()
        wb.write_sheet(summary_sheet, summary_form, summary_rows, totals=summary_totals)

    output = ReportOutput(rows=count)
    if pdf is not None:
        sections = [PdfSection(form=summary_form, rows=summary_rows, totals=summary_totals)]
        if kept is not None:
            sections.append(PdfSection(form=detail_form, rows=kept))
        else:
            output.pdf_note = _(
                "The detail has %(rows)d rows, more than the %(limit)d a PDF holds; print it from the "
                "Excel file, or request a shorter period."
            ) % {"rows": count, "limit": PDF_MAX_ROWS}
            sections[0].note = output.pdf_note
        output.pdf_pages = write_pdf(pdf, sections, title=title)
    return output


def report_file_stem(kind: str, bureau: Bureau, period: Period) -> str:
    """An ASCII file name stem: claims-330100-2024-05 (province: claims-province-2024)."""
    where = bureau.city.code if bureau.city_id else "province"
    return f"{kind}-{where}-{period.slug()}"


def report_download_name(kind: str, bureau: Bureau, period: Period, extension: str = "xlsx") -> str:
    """The name a reviewer sees when saving: 杭州市人力资源和社会保障局_补贴申领备案表_2024年5月.xlsx."""
    return f"{bureau.name}_{ReportKind(kind).label}_{period.label()}.{extension}".replace("/", "-")
