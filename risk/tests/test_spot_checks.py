"""Spot checks (抽查): a seeded, stored, reproducible sample; outcomes; the printed form."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.utils import timezone

from core.errors import ApplicationError
from institutions.tests.factories import TrainingPlanFactory
from risk.exports import spot_check_form
from risk.models import SpotCheckSubject, SpotOutcome
from risk.services import draw_sample, sample_size, spot_check_draw, spot_check_item_record, spot_check_redraw

pytestmark = pytest.mark.django_db


def test_the_sample_is_x_percent_rounded_up_at_least_m_at_most_everything():
    assert sample_size(100, percent=Decimal("10"), minimum=5) == 10
    assert sample_size(101, percent=Decimal("10"), minimum=5) == 11
    assert sample_size(20, percent=Decimal("10"), minimum=5) == 5
    assert sample_size(3, percent=Decimal("10"), minimum=5) == 3


def test_the_same_seed_and_the_same_data_give_the_same_sample_in_any_order():
    ids = list(range(1, 201))
    first = draw_sample(ids, percent=Decimal("5"), minimum=3, seed=20240601)
    again = draw_sample(list(reversed(ids)), percent=Decimal("5"), minimum=3, seed=20240601)
    other_seed = draw_sample(ids, percent=Decimal("5"), minimum=3, seed=20240602)
    assert first == again and len(first) == 10
    assert first != other_seed


def _claims(claim_on, plan, n, on):
    at = timezone.make_aware(datetime.datetime.combine(on, datetime.time(10)))
    return [claim_on(plan, submitted_at=at) for _ in range(n)]


def test_a_drawn_spot_check_stores_seed_parameters_and_ids_and_can_be_drawn_again(
    plan, claim_on, hangzhou_reviewer, institution
):
    in_period = _claims(claim_on, plan, 12, datetime.date(2025, 3, 5))
    _claims(claim_on, plan, 3, datetime.date(2025, 4, 2))  # outside the period
    check = spot_check_draw(
        actor=hangzhou_reviewer,
        institution=institution,
        subject=SpotCheckSubject.CLAIMS,
        period_start=datetime.date(2025, 3, 1),
        period_end=datetime.date(2025, 3, 31),
        percent=Decimal("20"),
        minimum=2,
        seed=42,
    )
    assert check.population_count == 12 and check.seed == 42
    assert len(check.drawn_ids) == 3
    assert set(check.drawn_ids) <= {c.pk for c in in_period}
    assert list(check.items.values_list("claim_id", flat=True)) == check.drawn_ids
    assert spot_check_redraw(check) == check.drawn_ids
    again = spot_check_draw(
        actor=hangzhou_reviewer,
        institution=institution,
        subject=SpotCheckSubject.CLAIMS,
        period_start=datetime.date(2025, 3, 1),
        period_end=datetime.date(2025, 3, 31),
        percent=Decimal("20"),
        minimum=2,
        seed=42,
    )
    assert again.drawn_ids == check.drawn_ids
    _claims(claim_on, plan, 1, datetime.date(2025, 3, 9))  # the data changed: a different population
    assert len(spot_check_redraw(check)) == 3 and check.population_count == 12


def test_plans_of_the_institution_can_be_sampled(hangzhou_reviewer, institution, hangzhou_bureau):
    plans = [TrainingPlanFactory(institution=institution) for _ in range(4)]
    check = spot_check_draw(
        actor=hangzhou_reviewer,
        institution=institution,
        subject=SpotCheckSubject.PLANS,
        period_start=datetime.date(2024, 1, 1),
        period_end=datetime.date(2024, 12, 31),
        percent=Decimal("10"),
        minimum=2,
    )
    assert len(check.drawn_ids) == 2 and set(check.drawn_ids) <= {p.pk for p in plans}
    assert 0 <= check.seed < 2**63


def test_an_empty_period_or_bad_parameters_are_refused_in_words(hangzhou_reviewer, institution):
    with pytest.raises(ApplicationError) as exc:
        spot_check_draw(
            actor=hangzhou_reviewer,
            institution=institution,
            subject=SpotCheckSubject.CLAIMS,
            period_start=datetime.date(2025, 3, 1),
            period_end=datetime.date(2025, 3, 31),
            percent=Decimal("20"),
            minimum=2,
        )
    assert exc.value.code == "empty_population"
    with pytest.raises(ApplicationError) as exc:
        spot_check_draw(
            actor=hangzhou_reviewer,
            institution=institution,
            subject=SpotCheckSubject.CLAIMS,
            period_start=datetime.date(2025, 3, 31),
            period_end=datetime.date(2025, 3, 1),
            percent=Decimal("120"),
            minimum=0,
        )
    assert exc.value.code == "invalid_spot_check"
    assert set(exc.value.detail) == {"percent", "minimum", "period_end"}


def test_outcomes_are_recorded_and_a_failure_needs_a_note_and_the_form_prints_them(
    plan, claim_on, hangzhou_reviewer, ningbo_reviewer, institution
):
    _claims(claim_on, plan, 4, datetime.date(2025, 3, 5))
    check = spot_check_draw(
        actor=hangzhou_reviewer,
        institution=institution,
        subject=SpotCheckSubject.CLAIMS,
        period_start=datetime.date(2025, 3, 1),
        period_end=datetime.date(2025, 3, 31),
        percent=Decimal("50"),
        minimum=1,
        seed=7,
    )
    first, second = check.items.order_by("position")
    with pytest.raises(ApplicationError) as exc:
        spot_check_item_record(item=second, actor=hangzhou_reviewer, outcome=SpotOutcome.FAILED)
    assert exc.value.code == "note_required"
    with pytest.raises(ApplicationError):
        spot_check_item_record(item=first, actor=ningbo_reviewer, outcome=SpotOutcome.PASSED)
    spot_check_item_record(item=first, actor=hangzhou_reviewer, outcome=SpotOutcome.PASSED)
    spot_check_item_record(
        item=second, actor=hangzhou_reviewer, outcome=SpotOutcome.FAILED, note="签到表缺失"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(spot_check_form(check))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[2][0] == 2 and values[2][-1] == "签到表缺失"
    assert values[1][1] == check.drawn_ids[0]
    assert "*" in values[1][3]  # ID numbers masked on the form
    assert values[3][0] == "合计"
    assert sheet.page_setup.orientation == "landscape" and sheet.print_title_rows == "$1:$1"
    assert str(check.seed) in sheet.oddHeader.center.text
