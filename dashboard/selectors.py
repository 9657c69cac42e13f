"""Figures of the progress dashboard: certified engineers against the 2030 goal, and claims.

Where a certified engineer belongs
----------------------------------
A level certificate (专业技术等级证书) belongs to the city **where the engineer was trained**:
the city of the training institution named on the training certificate behind it
(``level_certificate.assessment.training_certificate.institution.city``). That is the city
whose bureau accepted the training plan and supervises the institution (由培训机构所在地人社保部门
报省人社保厅备案), so it is the city whose effort the figure measures. A level certificate
recorded without an assessment in this system (imported history) has no training behind it
here; it falls back to the trainee's household-registration city (户籍地).

The trainee's household city was rejected as the primary rule because trainees train and
claim away from home (a Ningbo resident trained in Hangzhou is Hangzhou's output); the
evaluator's city was rejected because one evaluation institution tests candidates from
many cities.

Engineers and certificates
--------------------------
The goal counts people (培育数字技术工程师1万人以上), so "certified engineers" is the number of
distinct trainees holding at least one level certificate. The breakdowns by occupation and
by level count certificates, because one person may hold several (one per occupation and
level). An engineer trained in two cities counts once in each city, so the city figures
may add up to more than the province's total.

Claims belong to the bureau they were filed with. Money approved is the amount of claims
approved or paid, by the date of the decision; money paid is ``paid_amount`` by
``paid_on``. Months and years are Zhejiang local time (``TIME_ZONE`` is Asia/Shanghai).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Min, Sum
from django.db.models.functions import Coalesce, ExtractMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certificates.models import LevelCertificate
from core.errors import NotPermitted
from reference.models import City, Level, Occupation
from subsidies.models import ClaimStatus, SubsidyClaim

# 到2030年末……培育数字技术工程师1万人以上 (培育目标, zhejiang-plan-2023.md).
GOAL_ENGINEERS = 10_000
GOAL_DEADLINE = datetime.date(2030, 12, 31)
# The month the plan took effect (本实施方案自2023年9月16日起施行): the start of the time series.
SERIES_START = datetime.date(2023, 9, 1)

APPROVED_STATUSES = (ClaimStatus.APPROVED, ClaimStatus.PAID)


@dataclass(frozen=True)
class DashboardScope:
    """Whose figures a user sees: the whole province (``city`` None) or one city."""

    city: City | None
    can_compare_cities: bool

    @property
    def is_province(self) -> bool:
        return self.city is None


def dashboard_scope_for(user, *, city_code: str | None = None) -> DashboardScope:
    """The scope of ``user``'s dashboard.

    Provincial staff (and superusers) see the province and may narrow it to one city with
    ``city_code``; a bureau reviewer sees its own city whatever ``city_code`` says. Everyone
    else is refused.
    """
    if not (user.is_authenticated and user.is_active):
        raise NotPermitted("dashboard_forbidden", _("Only bureau and provincial staff see the dashboard."))
    if user.is_provincial:
        city = None
        if city_code:
            city = City.objects.filter(code=city_code, in_zhejiang=True).first()
        return DashboardScope(city=city, can_compare_cities=True)
    if user.is_bureau_reviewer and user.bureau_id and user.bureau.city_id:
        return DashboardScope(city=user.bureau.city, can_compare_cities=False)
    raise NotPermitted("dashboard_forbidden", _("Only bureau and provincial staff see the dashboard."))


def level_certificates_with_city():
    """Level certificates annotated with ``attributed_city`` (see the module docstring).

    A certificate with an assessment always reaches an institution with a city, so the
    household city is used exactly when there is no assessment.
    """
    return LevelCertificate.objects.annotate(
        attributed_city=Coalesce(
            "assessment__training_certificate__institution__city", "trainee__household_city"
        )
    )


def level_certificates_in_scope(scope: DashboardScope):
    qs = level_certificates_with_city()
    if scope.city is not None:
        qs = qs.filter(attributed_city=scope.city.pk)
    return qs


def province_engineer_count() -> int:
    return LevelCertificate.objects.values("trainee").distinct().count()


def claims_in_scope(scope: DashboardScope):
    qs = SubsidyClaim.objects.all()
    if scope.city is not None:
        qs = qs.filter(bureau__city=scope.city)
    return qs


def _month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _next_month(day: datetime.date) -> datetime.date:
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _months(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, month = [], _month_start(first)
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


@dataclass
class EngineerFigures:
    engineers: int
    certificates: int
    goal: int
    goal_deadline: datetime.date
    by_occupation: list[tuple[str, int]]
    by_level: list[tuple[str, int]]
    # (first day of month, engineers certified up to the end of that month)
    cumulative_by_month: list[tuple[datetime.date, int]]
    # (first day of month, engineers first certified in that month)
    new_by_month: list[tuple[datetime.date, int]]

    @property
    def share_of_goal(self) -> Decimal:
        return (Decimal(self.engineers) * 100 / self.goal).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def engineer_figures(scope: DashboardScope, *, today: datetime.date | None = None) -> EngineerFigures:
    today = today or timezone.localdate()
    certificates = level_certificates_in_scope(scope)
    totals = certificates.aggregate(certificates=Count("id"), engineers=Count("trainee", distinct=True))

    occupation_counts = dict(certificates.values_list("occupation").annotate(n=Count("id")))
    # Every occupation is listed, so a reader sees the fields with no certificate yet.
    by_occupation = [
        (occupation.short_name or occupation.name, occupation_counts.get(occupation.pk, 0))
        for occupation in Occupation.objects.order_by("code_2022", "name")
    ]
    level_counts = dict(certificates.values_list("level").annotate(n=Count("id")))
    by_level = [(str(label), level_counts.get(value, 0)) for value, label in Level.choices]

    # An engineer counts from the month of their first certificate in this scope.
    first_issued = certificates.values("trainee").annotate(first=Min("issued_on"))
    new_per_month: dict[datetime.date, int] = defaultdict(int)
    for row in first_issued:
        new_per_month[_month_start(row["first"])] += 1
    first_month = min([SERIES_START, *new_per_month]) if new_per_month else SERIES_START
    last_month = max([_month_start(today), *new_per_month]) if new_per_month else _month_start(today)
    cumulative, running, new_by_month = [], 0, []
    for month in _months(first_month, last_month):
        running += new_per_month.get(month, 0)
        cumulative.append((month, running))
        new_by_month.append((month, new_per_month.get(month, 0)))

    return EngineerFigures(
        engineers=totals["engineers"],
        certificates=totals["certificates"],
        goal=GOAL_ENGINEERS,
        goal_deadline=GOAL_DEADLINE,
        by_occupation=by_occupation,
        by_level=by_level,
        cumulative_by_month=cumulative,
        new_by_month=new_by_month,
    )


@dataclass
class ClaimFigures:
    year: int
    # (status value, label, claims submitted in the year now in that status)
    by_status: list[tuple[str, str, int]]
    submitted: int
    approved_amount: Decimal
    paid_amount: Decimal
    # (month number 1-12, submitted, approved amount, paid amount), January to December
    by_month: list[tuple[int, int, Decimal, Decimal]] = field(default_factory=list)


def claim_figures(scope: DashboardScope, *, year: int) -> ClaimFigures:
    claims = claims_in_scope(scope)
    in_year = claims.filter(claim_year=year)
    status_counts = dict(in_year.values_list("status").annotate(n=Count("id")))
    by_status = [(value, str(label), status_counts.get(value, 0)) for value, label in ClaimStatus.choices]

    # ``decided_at__year`` and ExtractMonth use the current time zone (Asia/Shanghai).
    approved = claims.filter(status__in=APPROVED_STATUSES, decided_at__year=year)
    paid = claims.filter(status=ClaimStatus.PAID, paid_on__year=year)

    submitted_by_month = dict(
        in_year.annotate(m=ExtractMonth("submitted_at")).values_list("m").annotate(n=Count("id"))
    )
    approved_by_month = dict(
        approved.annotate(m=ExtractMonth("decided_at")).values_list("m").annotate(s=Sum("amount"))
    )
    paid_by_month = dict(
        paid.annotate(m=ExtractMonth("paid_on")).values_list("m").annotate(s=Sum("paid_amount"))
    )
    zero = Decimal("0")
    by_month = [
        (
            month,
            submitted_by_month.get(month, 0),
            approved_by_month.get(month) or zero,
            paid_by_month.get(month) or zero,
        )
        for month in range(1, 13)
    ]
    return ClaimFigures(
        year=year,
        by_status=by_status,
        submitted=sum(n for _v, _l, n in by_status),
        approved_amount=approved.aggregate(s=Sum("amount"))["s"] or zero,
        paid_amount=paid.aggregate(s=Sum("paid_amount"))["s"] or zero,
        by_month=by_month,
    )


@dataclass
class CityRow:
    city: City
    engineers: int
    certificates: int
    claims_submitted: int
    approved_amount: Decimal
    paid_amount: Decimal


def city_comparison(*, year: int) -> list[CityRow]:
    """One row per Zhejiang city, for provincial staff; cities with no activity show zeros."""
    zero = Decimal("0")
    certs = {
        row["attributed_city"]: row
        for row in level_certificates_with_city()
        .values("attributed_city")
        .annotate(certificates=Count("id"), engineers=Count("trainee", distinct=True))
    }
    submitted = dict(
        SubsidyClaim.objects.filter(claim_year=year).values_list("bureau__city").annotate(n=Count("id"))
    )
    approved = dict(
        SubsidyClaim.objects.filter(status__in=APPROVED_STATUSES, decided_at__year=year)
        .values_list("bureau__city")
        .annotate(s=Sum("amount"))
    )
    paid = dict(
        SubsidyClaim.objects.filter(status=ClaimStatus.PAID, paid_on__year=year)
        .values_list("bureau__city")
        .annotate(s=Sum("paid_amount"))
    )
    return [
        CityRow(
            city=city,
            engineers=certs.get(city.pk, {}).get("engineers", 0),
            certificates=certs.get(city.pk, {}).get("certificates", 0),
            claims_submitted=submitted.get(city.pk, 0),
            approved_amount=approved.get(city.pk) or zero,
            paid_amount=paid.get(city.pk) or zero,
        )
        for city in City.objects.filter(in_zhejiang=True).order_by("code")
    ]
