"""Excel imports of the subsidy standards table (附件2) and of other training subsidies.

Declared on the generic framework (``core.xlsx_import``): every cell checked, every error
reported as (row, column, message), nothing written unless the whole file is right, and a
re-import changes nothing. Use with ``run_import(spec, upload, ctx={"actor": user})``: the
admin pages (``core.admin.ExcelImportAdminMixin``) and the management command do.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import NotPermitted
from core.xlsx_import import (
    BooleanColumn,
    ChoiceColumn,
    DateColumn,
    DecimalColumn,
    ErrorList,
    ImportResult,
    ImportSpec,
    LookupColumn,
    ResidentIdColumn,
    Row,
    TextColumn,
)
from reference.models import City, Level, Occupation
from subsidies.models import ExternalSubsidyRecord, SubsidyStandard
from subsidies.services import ExternalSubsidyRow, external_subsidy_check_actor, external_subsidy_import

_std = SubsidyStandard._meta.get_field
_ext = ExternalSubsidyRecord._meta.get_field


class SubsidyStandardImport(ImportSpec):
    """补贴标准 (the official 附件2 when it arrives): one row per occupation, level and period.

    Keyed by (occupation, level, effective from): a row for an existing key updates its
    amount, end date and labels, so importing the official table over the demonstration
    values (same start date) replaces them. Periods of one occupation and level never
    overlap, within the file or with the standards already kept.
    """

    slug = "subsidy_standards"
    title = gettext_lazy("Subsidy standards")
    natural_key = ("occupation", "level", "effective_from")
    header_aliases = {
        "occupation": ("职业", "职业（工种）", "职业名称"),
        "level": ("等级", "级次"),
        "amount": ("补贴标准（元）", "补贴标准", "金额（元）"),
        "effective_from": ("起始日期", "执行日期", "生效日期"),
        "effective_to": ("截止日期", "失效日期"),
        "is_demonstration": ("示例数据",),
        "source": ("来源", "依据"),
    }
    notes = (
        gettext_lazy("Occupations by name or code (2021 standard or 2022 classification)."),
        gettext_lazy("Leave the end date blank while a standard is in force."),
    )
    columns = (
        LookupColumn(
            "occupation", _std("occupation").verbose_name, noun=gettext_lazy("occupation"), width=28
        ),
        ChoiceColumn(
            "level",
            _std("level").verbose_name,
            choices=Level.choices,
            extra={"初级": Level.JUNIOR, "中级": Level.INTERMEDIATE, "高级": Level.SENIOR},
        ),
        DecimalColumn("amount", _std("amount").verbose_name, min_value=0, places=2),
        DateColumn("effective_from", _std("effective_from").verbose_name),
        DateColumn("effective_to", _std("effective_to").verbose_name, required=False),
        BooleanColumn(
            "is_demonstration",
            _std("is_demonstration").verbose_name,
            yes=gettext_lazy("Yes"),
            no=gettext_lazy("No"),
            required=False,
        ),
        TextColumn("source", _std("source").verbose_name, max_length=200, required=False),
    )

    def prepare(self, ctx: dict[str, Any]) -> None:
        actor = ctx.get("actor")
        if actor is None or not actor.is_provincial:
            raise NotPermitted("not_permitted", _("Only provincial staff keep the subsidy standards."))
        table: dict[str, Occupation] = {}
        for occupation in Occupation.objects.all():
            for key in (occupation.name, occupation.short_name, occupation.code_2021, occupation.code_2022):
                if key:
                    table.setdefault(key, occupation)
        self.column("occupation").resolve = lambda text: table.get(text)

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        end = row["effective_to"]
        if end is not None and end < row["effective_from"]:
            errors.add(row.number, self.column("effective_to"), _("Before the start date."))

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        keys = {(r["occupation"].pk, r["level"], r["effective_from"]) for r in rows}
        existing = {
            (s.occupation_id, s.level, s.effective_from): s
            for s in SubsidyStandard.objects.filter(occupation__in={r["occupation"] for r in rows})
        }
        ctx["existing"] = existing
        # The periods that will exist after the import: kept ones not overwritten, and the file's.
        periods: dict[tuple, list[tuple]] = {}
        for key, standard in existing.items():
            if key not in keys:
                periods.setdefault(key[:2], []).append((standard.effective_from, standard.effective_to, 0))
        for row in rows:
            key = (row["occupation"].pk, row["level"])
            periods.setdefault(key, []).append((row["effective_from"], row["effective_to"], row.number))
        for spans in periods.values():
            spans.sort(key=lambda s: s[0])
            for (_start_a, end_a, row_a), (start_b, _end_b, row_b) in zip(spans, spans[1:], strict=False):
                if end_a is None or end_a >= start_b:
                    row = row_b or row_a
                    errors.add(
                        row,
                        self.column("effective_from"),
                        _("Another standard for this occupation and level is in force during this period."),
                    )

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        result = ImportResult()
        existing: dict[tuple, SubsidyStandard] = ctx["existing"]
        # In date order per occupation and level, so a period being shortened is saved before
        # the period that follows it (the database refuses an overlap at every statement).
        for row in sorted(rows, key=lambda r: (r["occupation"].pk, r["level"], r["effective_from"])):
            values = {
                "amount": row["amount"],
                "effective_to": row["effective_to"],
                "is_demonstration": bool(row["is_demonstration"]),
                "source": row["source"],
            }
            standard = existing.get((row["occupation"].pk, row["level"], row["effective_from"]))
            if standard is None:
                standard = SubsidyStandard(
                    occupation=row["occupation"],
                    level=row["level"],
                    effective_from=row["effective_from"],
                    **values,
                )
                result.created += 1
            elif all(getattr(standard, k) == v for k, v in values.items()):
                result.unchanged += 1
                continue
            else:
                for name, value in values.items():
                    setattr(standard, name, value)
                result.updated += 1
            standard.full_clean(validate_constraints=False, exclude=["occupation"])
            standard.save()
        return result


def _city_table() -> dict[str, City]:
    table: dict[str, City] = {}
    for city in City.objects.all():
        table[city.code] = city
        table[city.name] = city
        table[city.name.removesuffix("市")] = city
    return table


class ExternalSubsidyImport(ImportSpec):
    """Other vocational-training subsidies the person received (e.g. 技能提升补贴): they count
    toward the 3-a-year limit. Keyed by (resident ID, kind, grant date): a re-import skips
    what is already there.

    The one parser of this file, whichever door it comes in by: the admin's import page and
    ``manage.py import_external_subsidies`` both run this spec, and the service
    (``subsidies.services.external_subsidy_import``) gets the rows it has cleaned.
    """

    slug = "external_subsidies"
    title = gettext_lazy("Other training subsidies received")
    natural_key = ("resident_id", "kind", "grant_date")
    # The headers of the forms in use, and the field names (the command's older CSV files).
    header_aliases = {
        "resident_id": ("身份证号码", "身份证号", "公民身份号码", "resident_id"),
        "name": ("姓名", "name"),
        "kind": ("补贴类型", "补贴项目", "补贴种类", "kind"),
        "grant_date": ("发放日期", "享受日期", "grant_date"),
        "amount": ("金额（元）", "补贴金额", "金额", "amount"),
        "city": ("发放地", "发放地市", "city"),
        "reference_number": ("文号", "编号", "凭证号", "reference_number"),
    }
    columns = (
        ResidentIdColumn("resident_id", _ext("resident_id").verbose_name),
        TextColumn("name", _ext("name").verbose_name, max_length=50),
        TextColumn("kind", _ext("kind").verbose_name, max_length=50),
        DateColumn("grant_date", _ext("grant_date").verbose_name),
        DecimalColumn("amount", _ext("amount").verbose_name, min_value=0, places=2),
        LookupColumn("city", _ext("city").verbose_name, noun=gettext_lazy("city"), required=False),
        TextColumn("reference_number", _ext("reference_number").verbose_name, max_length=50, required=False),
    )

    def prepare(self, ctx: dict[str, Any]) -> None:
        # ``actor`` must be given: None is the operator at the command line, never a default.
        external_subsidy_check_actor(ctx["actor"])
        table = _city_table()
        self.column("city").resolve = lambda text: table.get(text)

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        return external_subsidy_import(
            rows=[ExternalSubsidyRow(**r.values) for r in rows],
            actor=ctx["actor"],
        )
