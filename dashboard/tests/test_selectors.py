"""The dashboard's figures, checked against the database for a bureau and for the province.

Each scenario is a list of facts whose figures are worked out by hand in the comments; a
second check recomputes every figure naively, row by row in Python, from the database.
"""

import datetime
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
import time_machine

from certificates.models import LevelCertificate
from core.errors import NotPermitted
from dashboard.selectors import (
    GOAL_ENGINEERS,
    city_comparison,
    claim_figures,
    dashboard_scope_for,
    engineer_figures,
)
from dashboard.tests.builders import big_data, claim, imported_certificate, trained_certificate, trainee_of
from reference.models import Level
from subsidies.models import ClaimStatus, SubsidyClaim

pytestmark = pytest.mark.django_db

TODAY = datetime.datetime(2025, 6, 15, 10, 0, tzinfo=datetime.UTC)
D = datetime.date


def at(*args) -> datetime.datetime:
    """A moment in UTC."""
    return datetime.datetime(*args, tzinfo=datetime.UTC)


@pytest.fixture
def engineers_scenario(hangzhou, ningbo, institution, other_institution):
    """Hangzhou trains A (twice), B (a Ningbo resident) and holds E's imported certificate;
    Ningbo trains C (a Hangzhou resident) and holds D's imported certificate."""
    a, b = trainee_of(hangzhou, name="甲"), trainee_of(ningbo, name="乙")
    c, d, e = trainee_of(hangzhou, name="丙"), trainee_of(ningbo, name="丁"), trainee_of(hangzhou, name="戊")
    trained_certificate(institution=institution, trainee=a, issued_on=D(2024, 5, 10))
    trained_certificate(
        institution=institution,
        trainee=a,
        issued_on=D(2025, 2, 3),
        occupation=big_data(),
        level=Level.INTERMEDIATE,
    )
    trained_certificate(institution=institution, trainee=b, issued_on=D(2025, 2, 20))
    trained_certificate(institution=other_institution, trainee=c, issued_on=D(2025, 3, 1), level=Level.SENIOR)
    imported_certificate(trainee=d, issued_on=D(2025, 4, 1), level=Level.INTERMEDIATE)
    imported_certificate(trainee=e, issued_on=D(2025, 4, 2))


def test_a_bureau_reviewer_sees_only_its_city(hangzhou_reviewer, hangzhou):
    scope = dashboard_scope_for(hangzhou_reviewer, city_code="330200")
    assert scope.city == hangzhou
    assert not scope.can_compare_cities


def test_provincial_staff_see_the_province_and_may_narrow_to_one_city(provincial_staff, ningbo):
    assert dashboard_scope_for(provincial_staff).is_province
    assert dashboard_scope_for(provincial_staff, city_code="330200").city == ningbo
    assert dashboard_scope_for(provincial_staff, city_code="nonsense").is_province


@pytest.mark.parametrize("persona", ["institution_staff", "evaluation_staff", "trainee_user"])
def test_other_roles_have_no_dashboard(persona, request):
    with pytest.raises(NotPermitted) as excinfo:
        dashboard_scope_for(request.getfixturevalue(persona))
    assert excinfo.value.code == "dashboard_forbidden"


@time_machine.travel(TODAY)
def test_hangzhou_counts_engineers_trained_there_and_imported_certificates_of_its_residents(
    engineers_scenario, hangzhou_reviewer
):
    figures = engineer_figures(dashboard_scope_for(hangzhou_reviewer))
    # A (two certificates), B (Ningbo resident trained in Hangzhou), E (imported, Hangzhou resident).
    assert (figures.engineers, figures.certificates) == (3, 4)
    assert figures.goal == GOAL_ENGINEERS == 10_000
    assert figures.share_of_goal == Decimal("0.0")
    assert [n for _label, n in figures.by_level] == [3, 1, 0]  # junior, intermediate, senior
    assert dict(figures.by_occupation)["人工智能"] == 3
    assert dict(figures.by_occupation)["大数据"] == 1
    cumulative = dict(figures.cumulative_by_month)
    # A counts from May 2024 (the first certificate), not again in February 2025.
    assert cumulative[D(2024, 4, 1)] == 0
    assert cumulative[D(2024, 5, 1)] == 1
    assert cumulative[D(2025, 1, 1)] == 1
    assert cumulative[D(2025, 2, 1)] == 2
    assert cumulative[D(2025, 4, 1)] == 3
    assert figures.cumulative_by_month[0][0] == D(2023, 9, 1)
    assert figures.cumulative_by_month[-1] == (D(2025, 6, 1), 3)
    assert sum(n for _m, n in figures.new_by_month) == 3


@time_machine.travel(TODAY)
def test_ningbo_counts_what_it_trained_not_its_residents_trained_in_hangzhou(
    engineers_scenario, ningbo_reviewer
):
    figures = engineer_figures(dashboard_scope_for(ningbo_reviewer))
    # C (Hangzhou resident trained in Ningbo) and D (imported, Ningbo resident); not B.
    assert (figures.engineers, figures.certificates) == (2, 2)
    assert [n for _label, n in figures.by_level] == [0, 1, 1]


@time_machine.travel(TODAY)
def test_province_counts_each_engineer_once(engineers_scenario, provincial_staff):
    figures = engineer_figures(dashboard_scope_for(provincial_staff))
    assert (figures.engineers, figures.certificates) == (5, 6)
    rows = {row.city.code: row for row in city_comparison(year=2025)}
    assert (rows["330100"].engineers, rows["330100"].certificates) == (3, 4)
    assert (rows["330200"].engineers, rows["330200"].certificates) == (2, 2)


def test_share_of_goal_is_engineers_over_ten_thousand(provincial_staff, institution):
    for i in range(25):
        trained_certificate(
            institution=institution, trainee=trainee_of(institution.city), issued_on=D(2024, 3, i + 1)
        )
    assert engineer_figures(dashboard_scope_for(provincial_staff)).share_of_goal == Decimal("0.3")


@pytest.fixture
def claims_scenario(hangzhou_bureau, ningbo_bureau):
    """Hangzhou: one claim per state in 2025, plus two from 2024; Ningbo: one paid claim."""
    claim(bureau=hangzhou_bureau, status=ClaimStatus.SUBMITTED, submitted_at=at(2025, 3, 5, 2))
    claim(  # approved in April: 3,700 approved
        bureau=hangzhou_bureau,
        status=ClaimStatus.APPROVED,
        submitted_at=at(2025, 3, 6, 2),
        decided_at=at(2025, 4, 10, 2),
        level=Level.INTERMEDIATE,
    )
    claim(  # approved in April, paid in May: 2,200 approved and 2,100 paid
        bureau=hangzhou_bureau,
        status=ClaimStatus.PAID,
        submitted_at=at(2025, 3, 7, 2),
        decided_at=at(2025, 4, 12, 2),
        paid_on=D(2025, 5, 20),
        paid_amount=Decimal("2100"),
    )
    claim(
        bureau=hangzhou_bureau,
        status=ClaimStatus.REJECTED,
        submitted_at=at(2025, 4, 1, 2),
        decided_at=at(2025, 5, 1, 2),
    )
    claim(  # a 2024 claim, paid in 2024: nothing in 2025
        bureau=hangzhou_bureau,
        status=ClaimStatus.PAID,
        submitted_at=at(2024, 11, 1, 2),
        decided_at=at(2024, 11, 20, 2),
        paid_on=D(2024, 12, 30),
    )
    claim(  # submitted in 2024, approved at 01:00 on 1 January 2025 Zhejiang time: 5,200 in January
        bureau=hangzhou_bureau,
        status=ClaimStatus.APPROVED,
        submitted_at=at(2024, 12, 20, 2),
        decided_at=at(2024, 12, 31, 17),
        level=Level.SENIOR,
    )
    claim(
        bureau=ningbo_bureau,
        status=ClaimStatus.PAID,
        submitted_at=at(2025, 2, 1, 2),
        decided_at=at(2025, 2, 2, 2),
        paid_on=D(2025, 2, 10),
    )


@time_machine.travel(TODAY)
def test_hangzhou_claims_by_state_and_money_this_year(claims_scenario, hangzhou_reviewer):
    figures = claim_figures(dashboard_scope_for(hangzhou_reviewer), year=2025)
    assert {value: n for value, _label, n in figures.by_status} == {
        "submitted": 1,
        "approved": 1,
        "paid": 1,
        "rejected": 1,
        "withdrawn": 0,
    }
    assert figures.submitted == 4
    assert figures.approved_amount == Decimal("3700") + Decimal("2200") + Decimal("5200")
    assert figures.paid_amount == Decimal("2100")
    by_month = {month: (n, approved, paid) for month, n, approved, paid in figures.by_month}
    assert by_month[1] == (0, Decimal("5200"), 0)
    assert by_month[3] == (3, 0, 0)
    assert by_month[4] == (1, Decimal("5900"), 0)
    assert by_month[5] == (0, 0, Decimal("2100"))
    assert by_month[2] == (0, 0, 0)  # Ningbo's claim is not Hangzhou's
    assert len(figures.by_month) == 12


@time_machine.travel(TODAY)
def test_province_claims_include_every_bureau(claims_scenario, provincial_staff):
    figures = claim_figures(dashboard_scope_for(provincial_staff), year=2025)
    assert figures.submitted == 5
    assert figures.paid_amount == Decimal("2100") + Decimal("2200")
    rows = {row.city.code: row for row in city_comparison(year=2025)}
    assert rows["330100"].claims_submitted == 4
    assert rows["330200"].claims_submitted == 1
    assert rows["330200"].approved_amount == rows["330200"].paid_amount == Decimal("2200")


@time_machine.travel(TODAY)
def test_last_years_figures_are_available(claims_scenario, hangzhou_reviewer):
    figures = claim_figures(dashboard_scope_for(hangzhou_reviewer), year=2024)
    assert figures.submitted == 2
    assert figures.approved_amount == Decimal("2200")  # the 5,200 fell in 2025 local time
    assert figures.paid_amount == Decimal("2200")


# -- the same figures recomputed naively, row by row, from the database -------------------


def _naive_city(certificate: LevelCertificate):
    if certificate.assessment_id is None:
        return certificate.trainee.household_city_id
    return certificate.assessment.training_certificate.institution.city_id


def _naive_engineers(city_id=None):
    certificates = [c for c in LevelCertificate.objects.all() if city_id is None or _naive_city(c) == city_id]
    return len({c.trainee_id for c in certificates}), Counter(c.level for c in certificates)


def _naive_claims(year, bureau_city_id=None):
    from django.utils import timezone

    claims = [
        c for c in SubsidyClaim.objects.all() if bureau_city_id is None or c.bureau.city_id == bureau_city_id
    ]
    money = defaultdict(Decimal)
    for c in claims:
        if c.status in ("approved", "paid") and timezone.localtime(c.decided_at).year == year:
            money["approved"] += c.amount
        if c.status == "paid" and c.paid_on.year == year:
            money["paid"] += c.paid_amount
    return Counter(c.status for c in claims if c.claim_year == year), money


@time_machine.travel(TODAY)
@pytest.mark.parametrize("persona", ["hangzhou_reviewer", "ningbo_reviewer", "provincial_staff"])
def test_figures_match_a_naive_recount_of_the_database(engineers_scenario, claims_scenario, persona, request):
    user = request.getfixturevalue(persona)
    scope = dashboard_scope_for(user)
    city_id = None if scope.is_province else scope.city.pk

    engineers = engineer_figures(scope)
    expected_engineers, expected_levels = _naive_engineers(city_id)
    assert engineers.engineers == expected_engineers
    assert [n for _l, n in engineers.by_level] == [expected_levels[v] for v, _l in Level.choices]
    assert engineers.cumulative_by_month[-1][1] == expected_engineers

    claims = claim_figures(scope, year=2025)
    expected_status, expected_money = _naive_claims(2025, city_id)
    assert {v: n for v, _l, n in claims.by_status} == {v: expected_status[v] for v, _l in ClaimStatus.choices}
    assert claims.approved_amount == expected_money["approved"]
    assert claims.paid_amount == expected_money["paid"]
