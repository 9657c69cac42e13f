"""The two filing reports as Excel workbooks, streamed from the database.

Rows come from one ``values_list(...).iterator()`` query (joins, no model instances, no
per-row queries) and go straight into an ``openpyxl`` write-only workbook, which serialises
each row as it is appended: memory stays flat however many claims a year holds.

The summary sheet is accumulated from the very rows written to the detail sheet, not read by
a second query: under READ COMMITTED a second statement could see a claim decided while the
report ran, and a filing whose totals disagree with its own detail rows is wrong.

Labels are looked up when the report is built, in the language the caller activated (the
task activates zh-hans: the province receives Chinese column titles).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from core.excel import (
    DATE,
    DECIMAL,
    ID_TEXT,
    INTEGER,
    INTEGER_FORMAT,
    MONEY,
    MONEY_FORMAT,
    TEXT,
    TOTAL_FONT,
    RowLayout,
    discard_workbook,
    header_row,
    safe_text,
    streaming_sheet,
    styled_cell,
    title_row,
)
from institutions.models import PlanStatus
from reference.models import Bureau, Level, Occupation
from reports.models import ReportKind
from reports.periods import Period
from reports.selectors import CLAIM_ROW_FIELDS, PLAN_ROW_FIELDS, claims_for_report, plans_for_report
from subsidies.models import ClaimBasis, ClaimStatus

# Rows fetched per round trip, and between two progress updates. Large enough that round
# trips cost nothing next to writing the rows, small enough to keep memory flat.
CHUNK_SIZE = 5000

ProgressCallback = Callable[[int, int], None]

# (header, column width). Headers carry the context "report column" so that the Chinese
# titles SPEC.md prescribes are translated exactly, independently of the same English words
# elsewhere in the interface; the comment above each gives the translator the title.
CLAIM_COLUMNS = (
    # Translators: 序号
    (pgettext_lazy("report column", "No."), 7),
    # Translators: 姓名
    (pgettext_lazy("report column", "Name"), 10),
    # Translators: 身份证号码
    (pgettext_lazy("report column", "Resident ID number"), 21),
    # Translators: 职业
    (pgettext_lazy("report column", "Occupation"), 24),
    # Translators: 等级
    (pgettext_lazy("report column", "Level"), 7),
    # Translators: 培训机构
    (pgettext_lazy("report column", "Training institution"), 28),
    # Translators: 培训合格证书编号
    (pgettext_lazy("report column", "Training certificate number"), 20),
    # Translators: 专业技术等级证书编号
    (pgettext_lazy("report column", "Level certificate number"), 20),
    # Translators: 发证日期
    (pgettext_lazy("report column", "Issue date"), 12),
    # Translators: 申领地
    (pgettext_lazy("report column", "Place of claim"), 10),
    # Translators: 申领依据
    (pgettext_lazy("report column", "Basis of claim"), 18),
    # Translators: 补贴标准（元）
    (pgettext_lazy("report column", "Subsidy standard (yuan)"), 14),
    # Translators: 审核状态
    (pgettext_lazy("report column", "Review status"), 10),
    # Translators: 审核日期
    (pgettext_lazy("report column", "Review date"), 12),
    # Translators: 拨付日期
    (pgettext_lazy("report column", "Payment date"), 12),
)

CLAIM_SUMMARY_COLUMNS = (
    # Translators: 职业
    (pgettext_lazy("report column", "Occupation"), 26),
    # Translators: 等级
    (pgettext_lazy("report column", "Level"), 8),
    # Translators: 审核件数
    (pgettext_lazy("report column", "Claims decided"), 12),
    # Translators: 补贴标准合计（元）
    (pgettext_lazy("report column", "Total of standards (yuan)"), 18),
    # Translators: 审核通过件数
    (pgettext_lazy("report column", "Approved"), 12),
    # Translators: 审核通过金额（元）
    (pgettext_lazy("report column", "Approved amount (yuan)"), 18),
    # Translators: 不予通过件数
    (pgettext_lazy("report column", "Rejected"), 12),
)

PLAN_COLUMNS = (
    # Translators: 序号
    (pgettext_lazy("report column", "No."), 7),
    # Translators: 培训机构
    (pgettext_lazy("report column", "Training institution"), 28),
    # Translators: 统一社会信用代码
    (pgettext_lazy("report column", "Unified social credit code"), 21),
    # Translators: 所在地
    (pgettext_lazy("report column", "City"), 10),
    # Translators: 班级名称
    (pgettext_lazy("report column", "Class name"), 20),
    # Translators: 职业
    (pgettext_lazy("report column", "Occupation"), 24),
    # Translators: 方向
    (pgettext_lazy("report column", "Direction"), 18),
    # Translators: 等级
    (pgettext_lazy("report column", "Level"), 7),
    # Translators: 开班日期
    (pgettext_lazy("report column", "Start date"), 12),
    # Translators: 结业日期
    (pgettext_lazy("report column", "End date"), 12),
    # Translators: 线上学时
    (pgettext_lazy("report column", "Hours online"), 10),
    # Translators: 线下学时
    (pgettext_lazy("report column", "Hours offline"), 10),
    # Translators: 班级人数
    (pgettext_lazy("report column", "Class size"), 10),
    # Translators: 收费标准（元）
    (pgettext_lazy("report column", "Published fee (yuan)"), 14),
    # Translators: 评价机构
    (pgettext_lazy("report column", "Evaluation institution"), 24),
    # Translators: 备案机关
    (pgettext_lazy("report column", "Filing authority"), 24),
    # Translators: 备案状态
    (pgettext_lazy("report column", "Filing status"), 14),
    # Translators: 提交备案日期
    (pgettext_lazy("report column", "Filing date"), 12),
    # Translators: 审核日期
    (pgettext_lazy("report column", "Review date"), 12),
)

PLAN_SUMMARY_COLUMNS = (
    # Translators: 职业
    (pgettext_lazy("report column", "Occupation"), 26),
    # Translators: 等级
    (pgettext_lazy("report column", "Level"), 8),
    # Translators: 计划数
    (pgettext_lazy("report column", "Plans filed"), 12),
    # Translators: 计划培训人数
    (pgettext_lazy("report column", "Planned trainees"), 14),
    # Translators: 已备案计划数
    (pgettext_lazy("report column", "Plans accepted"), 14),
)


# The kinds of the detail columns, in the order of CLAIM_COLUMNS / PLAN_COLUMNS.
CLAIM_KINDS = (
    INTEGER,  # No.
    TEXT,  # name
    ID_TEXT,  # resident ID number
    TEXT,  # occupation
    TEXT,  # level
    TEXT,  # training institution
    ID_TEXT,  # training certificate number
    ID_TEXT,  # level certificate number
    DATE,  # issue date
    TEXT,  # place of claim
    TEXT,  # basis
    MONEY,  # subsidy standard
    TEXT,  # review status
    DATE,  # review date
    DATE,  # payment date
)
PLAN_KINDS = (
    INTEGER,  # No.
    TEXT,  # institution
    ID_TEXT,  # credit code
    TEXT,  # city
    TEXT,  # class name
    TEXT,  # occupation
    TEXT,  # direction
    TEXT,  # level
    DATE,  # start
    DATE,  # end
    DECIMAL,  # hours online
    DECIMAL,  # hours offline
    INTEGER,  # class size
    MONEY,  # fee
    TEXT,  # evaluator
    TEXT,  # filing authority
    TEXT,  # status
    DATE,  # filed
    DATE,  # decided
)


def _prepare_sheet(ws, columns, title: str) -> None:
    """Title row, header row, widths, frozen header, print set-up (before any row is written)."""
    for index, (_label, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A3"  # keep the title and the column titles in view
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    ws.merged_cells.add(f"A1:{get_column_letter(len(columns))}1")
    ws.append(title_row(ws, title))
    ws.append(header_row(ws, [str(label) for label, _width in columns]))


def _finish_sheet(ws, columns, data_rows: int) -> None:
    # A filter on the header row: reviewers sort and filter before they file.
    ws.auto_filter.ref = f"A2:{get_column_letter(len(columns))}{2 + data_rows}"


def _title(kind: str, bureau: Bureau, period: Period) -> str:
    # Translators: the title row, e.g. 杭州市人力资源和社会保障局 补贴申领备案表（2024年5月）
    return _("%(bureau)s %(report)s (%(period)s)") % {
        "bureau": bureau.name,
        "report": ReportKind(kind).label,
        "period": period.label(),
    }


def _footer(ws, bureau: Bureau) -> None:
    ws.append([])
    # Translators: 制表单位
    ws.append([_("Prepared by"), safe_text(bureau.name)])
    # Translators: 制表时间
    ws.append([_("Prepared at"), timezone.localtime().strftime("%Y-%m-%d %H:%M")])


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _occupation_order() -> dict[int, int]:
    return {pk: index for index, pk in enumerate(Occupation.objects.values_list("pk", flat=True))}


def _summary_key_order(key, occupation_order):
    occupation_id, level = key
    return occupation_order.get(occupation_id, len(occupation_order)), Level.rank(level)


def _saving(build):
    """Run ``build(wb, ...)`` on a fresh write-only workbook; clean its temporary files on failure."""

    @functools.wraps(build)
    def run(path: Path, *, bureau: Bureau, period: Period, progress: ProgressCallback | None = None) -> int:
        wb = Workbook(write_only=True)
        try:
            count = build(wb, bureau=bureau, period=period, progress=progress)
            wb.save(path)
        except BaseException:
            discard_workbook(wb)
            raise
        return count

    return run


@_saving
def write_claims_report(wb, *, bureau: Bureau, period: Period, progress: ProgressCallback | None) -> int:
    """Write the claims filing report (补贴申领备案表) to ``path``; return its number of claims."""
    queryset = claims_for_report(bureau, period)
    total = queryset.count()  # for the progress bar only; the row count is what is written

    # Translators: sheet name (at most 31 characters), 补贴申领明细
    detail = streaming_sheet(wb, pgettext("report sheet", "Claims"))
    # Translators: sheet name, 汇总
    summary = streaming_sheet(wb, pgettext("report sheet", "Summary"))
    title = _title(ReportKind.CLAIMS, bureau, period)
    _prepare_sheet(detail, CLAIM_COLUMNS, title)
    _prepare_sheet(summary, CLAIM_SUMMARY_COLUMNS, title)

    levels = _labels(Level)
    bases = _labels(ClaimBasis)
    statuses = _labels(ClaimStatus)
    approved_statuses = {ClaimStatus.APPROVED.value, ClaimStatus.PAID.value}
    rejected = ClaimStatus.REJECTED.value
    tz = ZoneInfo(settings.TIME_ZONE)

    layout = RowLayout(detail, CLAIM_KINDS)

    # (occupation id, level) -> [occupation name, count, amount, approved, approved amount, rejected]
    groups: dict[tuple[int, str], list] = {}
    append = detail.append_row
    count = 0
    rows = queryset.values_list(*CLAIM_ROW_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    for (
        name,
        resident_id,
        occupation_id,
        occupation,
        level,
        institution,
        training_number,
        level_number,
        issued_on,
        city,
        basis,
        amount,
        status,
        decided_at,
        paid_on,
    ) in rows:
        count += 1
        append(
            layout,
            (
                count,
                name,
                resident_id,
                occupation,
                levels[level],
                institution,
                training_number,
                level_number,
                issued_on,
                city,
                bases[basis],
                amount,
                statuses[status],
                decided_at.astimezone(tz).date(),
                paid_on,
            ),
        )
        group = groups.get((occupation_id, level))
        if group is None:
            group = groups[(occupation_id, level)] = [occupation, 0, Decimal(0), 0, Decimal(0), 0]
        group[1] += 1
        group[2] += amount
        if status in approved_statuses:
            group[3] += 1
            group[4] += amount
        elif status == rejected:
            group[5] += 1
        if progress is not None and count % CHUNK_SIZE == 0:
            progress(count, total)
    _finish_sheet(detail, CLAIM_COLUMNS, count)

    summary_layout = RowLayout(summary, (TEXT, TEXT, INTEGER, MONEY, INTEGER, MONEY, INTEGER))
    totals = [0, Decimal(0), 0, Decimal(0), 0]
    order = _occupation_order()
    for key in sorted(groups, key=lambda k: _summary_key_order(k, order)):
        occupation, n, amount, n_approved, approved_amount, n_rejected = groups[key]
        summary.append_row(
            summary_layout, (occupation, levels[key[1]], n, amount, n_approved, approved_amount, n_rejected)
        )
        for index, value in enumerate((n, amount, n_approved, approved_amount, n_rejected)):
            totals[index] += value
    summary.append(
        _totals_row(
            summary,
            totals,
            formats=(INTEGER_FORMAT, MONEY_FORMAT, INTEGER_FORMAT, MONEY_FORMAT, INTEGER_FORMAT),
        )
    )
    _finish_sheet(summary, CLAIM_SUMMARY_COLUMNS, len(groups) + 1)
    _footer(summary, bureau)

    return count


def _totals_row(ws, values, *, formats) -> list:
    # Translators: 合计
    return [styled_cell(ws, _("Total"), font=TOTAL_FONT), None] + [
        styled_cell(ws, value, number_format=fmt, font=TOTAL_FONT)
        for value, fmt in zip(values, formats, strict=True)
    ]


@_saving
def write_plans_report(wb, *, bureau: Bureau, period: Period, progress: ProgressCallback | None) -> int:
    """Write the plan filing report (培训计划备案表) to ``path``; return its number of plans."""
    queryset = plans_for_report(bureau, period)
    total = queryset.count()

    # Translators: sheet name (at most 31 characters), 培训计划明细
    detail = streaming_sheet(wb, pgettext("report sheet", "Plans"))
    # Translators: sheet name, 汇总
    summary = streaming_sheet(wb, pgettext("report sheet", "Summary"))
    title = _title(ReportKind.PLANS, bureau, period)
    _prepare_sheet(detail, PLAN_COLUMNS, title)
    _prepare_sheet(summary, PLAN_SUMMARY_COLUMNS, title)

    levels = _labels(Level)
    statuses = _labels(PlanStatus)
    accepted = PlanStatus.ACCEPTED.value
    tz = ZoneInfo(settings.TIME_ZONE)

    layout = RowLayout(detail, PLAN_KINDS)

    groups: dict[tuple[int, str], list] = {}
    count = 0
    rows = queryset.values_list(*PLAN_ROW_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    for (
        institution,
        credit_code,
        city,
        title_,
        occupation_id,
        occupation,
        direction,
        level,
        start_date,
        end_date,
        hours_online,
        hours_offline,
        class_size,
        fee,
        evaluator,
        authority,
        status,
        filed_at,
        decided_at,
    ) in rows:
        count += 1
        detail.append_row(
            layout,
            (
                count,
                institution,
                credit_code,
                city,
                title_,
                occupation,
                direction,
                levels[level],
                start_date,
                end_date,
                hours_online,
                hours_offline,
                class_size,
                fee,
                evaluator,
                authority,
                statuses[status],
                filed_at.astimezone(tz).date(),
                decided_at.astimezone(tz).date() if decided_at else None,
            ),
        )
        group = groups.get((occupation_id, level))
        if group is None:
            group = groups[(occupation_id, level)] = [occupation, 0, 0, 0]
        group[1] += 1
        group[2] += class_size
        if status == accepted:
            group[3] += 1
        if progress is not None and count % CHUNK_SIZE == 0:
            progress(count, total)
    _finish_sheet(detail, PLAN_COLUMNS, count)

    summary_layout = RowLayout(summary, (TEXT, TEXT, INTEGER, INTEGER, INTEGER))
    totals = [0, 0, 0]
    order = _occupation_order()
    for key in sorted(groups, key=lambda k: _summary_key_order(k, order)):
        occupation, n, size, n_accepted = groups[key]
        summary.append_row(summary_layout, (occupation, levels[key[1]], n, size, n_accepted))
        totals[0] += n
        totals[1] += size
        totals[2] += n_accepted
    summary.append(_totals_row(summary, totals, formats=(INTEGER_FORMAT,) * 3))
    _finish_sheet(summary, PLAN_SUMMARY_COLUMNS, len(groups) + 1)
    _footer(summary, bureau)

    return count


BUILDERS: dict[str, Callable[..., int]] = {
    ReportKind.CLAIMS: write_claims_report,
    ReportKind.PLANS: write_plans_report,
}


def report_file_stem(kind: str, bureau: Bureau, period: Period) -> str:
    """An ASCII file name stem: claims-330100-2024-05 (province: claims-province-2024)."""
    where = bureau.city.code if bureau.city_id else "province"
    return f"{kind}-{where}-{period.slug()}"


def report_download_name(kind: str, bureau: Bureau, period: Period) -> str:
    """The name a reviewer sees when saving: 杭州市人力资源和社会保障局_补贴申领备案表_2024年5月.xlsx."""
    return f"{bureau.name}_{ReportKind(kind).label}_{period.label()}.xlsx".replace("/", "-")
