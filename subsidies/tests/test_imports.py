"""The subsidy-standards and other-subsidies imports declared in ``subsidies/imports.py``."""

import datetime
from decimal import Decimal

import pytest

from core.errors import NotPermitted
from core.xlsx_import import ImportRejected, run_import
from reference.tests.factories import OccupationFactory
from subsidies.imports import ExternalSubsidyImport, SubsidyStandardImport
from subsidies.models import ExternalSubsidyRecord, SubsidyStandard
from subsidies.tests.factories import SubsidyStandardFactory
from trainees.tests.xlsx import xlsx_bytes

STANDARD_HEADER = ["职业", "等级", "补贴标准（元）", "起始日期", "截止日期", "示例数据", "来源"]
START = datetime.date(2023, 9, 16)


def standards(actor, rows):
    return run_import(SubsidyStandardImport(), xlsx_bytes(STANDARD_HEADER, rows), ctx={"actor": actor})


def test_official_table_replaces_demonstration_values_and_reimport_changes_nothing(provincial_staff):
    occupation = OccupationFactory()
    SubsidyStandardFactory(
        occupation=occupation, level="junior", amount=Decimal("2200"), is_demonstration=True
    )
    rows = [
        ["2-02-38-01", "初级", 2500, START, None, "否", "附件2"],
        ["人工智能工程技术人员", "中级", 3900, START, None, "否", "附件2"],
    ]
    result = standards(provincial_staff, rows)
    assert (result.created, result.updated) == (1, 1)
    junior = SubsidyStandard.objects.get(occupation=occupation, level="junior")
    assert (junior.amount, junior.is_demonstration, junior.source) == (Decimal("2500"), False, "附件2")
    again = standards(provincial_staff, rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_a_new_period_closes_the_old_one_in_the_same_file(provincial_staff):
    occupation = OccupationFactory()
    SubsidyStandardFactory(occupation=occupation, level="junior")
    standards(
        provincial_staff,
        [
            [occupation.name, "初级", 2200, START, datetime.date(2025, 12, 31), "是", ""],
            [occupation.name, "初级", 2600, datetime.date(2026, 1, 1), None, "否", "附件2"],
        ],
    )
    assert list(
        SubsidyStandard.objects.filter(occupation=occupation).values_list("amount", "effective_to")
    ) == [(Decimal("2200.00"), datetime.date(2025, 12, 31)), (Decimal("2600.00"), None)]


def test_overlapping_periods_and_bad_cells_are_reported_and_nothing_is_written(provincial_staff):
    occupation = OccupationFactory()
    SubsidyStandardFactory(occupation=occupation, level="junior")
    rows = [
        [occupation.name, "初级", 2600, datetime.date(2025, 1, 1), None, "否", ""],  # overlaps the kept one
        ["不存在的职业", "初级", 2600, START, None, "否", ""],
        [occupation.name, "特级", "两千", START, None, "否", ""],
    ]
    with pytest.raises(ImportRejected) as exc:
        standards(provincial_staff, rows)
    assert sorted(e["row"] for e in exc.value.detail["errors"]) == [2, 3, 4, 4]
    assert SubsidyStandard.objects.count() == 1


def test_only_provincial_staff_import_standards(hangzhou_reviewer):
    with pytest.raises(NotPermitted):
        standards(hangzhou_reviewer, [["x", "初级", 1, START, None, "否", ""]])


def test_other_subsidies_are_imported_once(hangzhou_reviewer, hangzhou):
    header = ["身份证号码", "姓名", "补贴类型", "发放日期", "金额（元）", "发放地", "文号"]
    rows = [["11010519491231002X", "张三", "技能提升补贴", datetime.date(2024, 6, 1), 1500, "杭州市", "HZ-1"]]
    data = xlsx_bytes(header, rows)
    first = run_import(ExternalSubsidyImport(), data, ctx={"actor": hangzhou_reviewer})
    again = run_import(ExternalSubsidyImport(), data, ctx={"actor": hangzhou_reviewer})
    assert (first.created, again.created, again.unchanged) == (1, 0, 1)
    assert ExternalSubsidyRecord.objects.get().city == hangzhou
