"""The plan filing report (培训计划备案表)."""

import datetime
from decimal import Decimal

import pytest

from core.excel import DATE_FORMAT, MONEY_FORMAT, TEXT_FORMAT
from institutions.models import PlanStatus
from institutions.tests.factories import TrainingInstitutionFactory, TrainingPlanFactory
from reports.models import JobStatus
from reports.tasks import generate_report
from reports.tests.conftest import load, local

pytestmark = pytest.mark.django_db


def plan(institution, *, filed_at, status=PlanStatus.ACCEPTED, **fields):
    return TrainingPlanFactory(
        institution=institution,
        filed_at=filed_at,
        status=status,
        decided_at=None if status == PlanStatus.FILED else filed_at + datetime.timedelta(days=2),
        return_reason="材料不全" if status == PlanStatus.RETURNED else "",
        **fields,
    )


@pytest.fixture
def plans(institution, other_institution):
    return {
        "accepted": plan(
            institution, filed_at=local(2024, 4, 1, 0, 30), class_size=40, fee=Decimal("2980.50")
        ),
        "awaiting": plan(
            institution, filed_at=local(2024, 6, 30, 23, 0), status=PlanStatus.FILED, class_size=25
        ),
        "returned": plan(
            institution, filed_at=local(2024, 5, 5, 9, 0), status=PlanStatus.RETURNED, class_size=30
        ),
        "july": plan(institution, filed_at=local(2024, 7, 1, 0, 1)),
        "ningbo": plan(other_institution, filed_at=local(2024, 5, 5, 9, 0)),
        "draft": plan(institution, filed_at=local(2024, 5, 6, 9, 0), status=PlanStatus.DRAFT),
    }


def test_plan_report_lists_the_plans_filed_with_the_bureau_in_the_quarter(
    media, plans, make_job, hangzhou_bureau
):
    job = make_job(bureau=hangzhou_bureau, kind="plans", period_kind="quarter", day=datetime.date(2024, 5, 1))
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error

    workbook = load(job)
    rows = [r for r in workbook.worksheets[1].iter_rows(min_row=4) if isinstance(r[0].value, int)]
    expected = [plans["accepted"], plans["returned"], plans["awaiting"]]
    assert [r[4].value for r in rows] == [p.title for p in expected]
    first = rows[0]
    accepted = plans["accepted"]
    assert first[2].value == accepted.institution.credit_code and first[2].number_format == TEXT_FORMAT
    assert first[8].value.date() == accepted.start_date and first[8].number_format == DATE_FORMAT
    assert Decimal(str(first[13].value)) == accepted.fee and first[13].number_format == MONEY_FORMAT
    assert first[17].value.date() == datetime.date(2024, 4, 1)  # filed 00:30 local on 1 April
    assert rows[2][18].value is None  # awaiting acceptance: no decision date

    summary = workbook.worksheets[0]
    totals = next(r for r in summary.iter_rows(min_row=4, values_only=True) if r[1] is None)
    assert totals[0] == "合计"
    assert totals[2:5] == (3, sum(p.class_size for p in expected), 1)


def test_provincial_plan_report_includes_university_filings_and_every_city(
    media, plans, make_job, province_bureau, hangzhou
):
    university = TrainingInstitutionFactory(
        city=hangzhou, is_provincial_university=True, name="杭州电子科技大学"
    )
    filed_with_province = plan(university, filed_at=local(2024, 5, 10, 9, 0))
    assert filed_with_province.filing_authority == province_bureau
    job = make_job(bureau=province_bureau, kind="plans", period_kind="month", day=datetime.date(2024, 5, 1))
    generate_report.apply(args=[job.pk])
    job.refresh_from_db()
    rows = list(load(job).worksheets[1].iter_rows(min_row=4, values_only=True))
    titles = {r[4] for r in rows if isinstance(r[0], int)}
    assert titles == {plans["returned"].title, plans["ningbo"].title, filed_with_province.title}
