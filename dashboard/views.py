"""The progress dashboard page, rendered inside the admin for bureau and provincial staff."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.errors import NotPermitted
from dashboard import charts
from dashboard.selectors import (
    GOAL_DEADLINE,
    SERIES_START,
    city_comparison,
    claim_figures,
    dashboard_scope_for,
    engineer_figures,
    province_engineer_count,
)
from risk.selectors import signal_counts as risk_signal_counts
from trainees.selectors import enrolments_visible_to, evaluation_averages

logger = logging.getLogger(__name__)


def _months_between(first: datetime.date, last: datetime.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def _goal_pace(months: list[datetime.date], goal: int) -> list[float]:
    """Where a straight path from 0 in September 2023 to the goal in December 2030 would be."""
    span = _months_between(SERIES_START, GOAL_DEADLINE) + 1
    return [goal * max(_months_between(SERIES_START, m) + 1, 0) / span for m in months]


def _year(request, today: datetime.date) -> int:
    # A malformed or far-off ``year`` falls back to this year rather than erroring.
    raw = request.GET.get("year", "")
    if raw.isdigit() and SERIES_START.year <= int(raw) <= today.year + 1:
        return int(raw)
    return today.year


def _cache_key(user, scope, year: int, today: datetime.date) -> str:
    """Who sees the same figures: the scope, and the rows the user's role lets them see
    (risk signals and evaluations are those of the user's claims and plans). Provincial
    staff all see the same; a bureau's reviewers see their bureau's."""
    audience = "province" if user.is_provincial else f"bureau-{user.bureau_id}"
    city = scope.city.pk if scope.city is not None else "all"
    return f"dashboard:v1:{audience}:{city}:{year}:{today.isoformat()}:{get_language()}"


def _figures(request, scope, *, year: int, today: datetime.date) -> dict:
    """The page's figures, charts and their rendered HTML (``content``)."""
    engineers = engineer_figures(scope, today=today)
    claims = claim_figures(scope, year=year)

    months = [m for m, _n in engineers.cumulative_by_month]
    cumulative_chart = charts.cumulative_line(
        [(m.strftime("%Y-%m"), n) for m, n in engineers.cumulative_by_month],
        title=_("Certified engineers over time (cumulative)"),
        chart_id="chart-engineers-over-time",
        # The goal is province-wide: a pace line only makes sense for the whole province.
        pace=_goal_pace(months, engineers.goal) if scope.is_province else None,
    )
    context = {
        "scope": scope,
        "year": year,
        "today": today,
        "engineers": engineers,
        "engineers_by_month": [
            (month, new, total)
            for (month, new), (_m, total) in zip(
                engineers.new_by_month, engineers.cumulative_by_month, strict=True
            )
        ],
        "claims": claims,
        "goal_chart": charts.progress_bar(
            engineers.engineers,
            engineers.goal,
            title=_("Certified engineers against the goal"),
            chart_id="chart-goal",
        ),
        "cumulative_chart": cumulative_chart,
        "occupation_chart": charts.horizontal_bars(
            engineers.by_occupation, title=_("Level certificates by occupation"), chart_id="chart-occupation"
        ),
        "level_chart": charts.horizontal_bars(
            engineers.by_level, title=_("Level certificates by level"), chart_id="chart-level"
        ),
        "status_chart": charts.horizontal_bars(
            [(label, n) for _v, label, n in claims.by_status],
            title=_("Claims submitted this year by status"),
            chart_id="chart-claim-status",
        ),
        "money_chart": charts.columns(
            [(str(month), approved) for month, _n, approved, _paid in claims.by_month],
            second=[paid for _m, _n, _a, paid in claims.by_month],
            title=_("Money approved and paid by month (yuan)"),
            chart_id="chart-money-by-month",
        ),
    }
    if scope.can_compare_cities:
        rows = city_comparison(year=year)
        context["city_rows"] = rows
        context["city_chart"] = charts.horizontal_bars(
            [(row.city.name, row.engineers) for row in rows],
            title=_("Certified engineers by city"),
            chart_id="chart-city",
        )
    if not scope.is_province:
        # A city's share of the province's engineers, next to its share of the goal.
        province_engineers = province_engineer_count()
        context["province_engineers"] = province_engineers
        context["share_of_province"] = (
            round(100 * engineers.engineers / province_engineers, 1) if province_engineers else 0
        )
    risk = risk_signal_counts(request.user)
    # Labels as text: a lazy translation in the cached figures costs a class creation each
    # time it is unpickled.
    context["risk"] = {**risk, "by_code": [(str(label), n) for label, n in risk["by_code"]]}
    # 评教: the averages per institution of the classes the user oversees.
    context["evaluation_rows"] = evaluation_averages(
        enrolments=enrolments_visible_to(request.user), by="institution"
    )
    context["content"] = render_to_string("dashboard/progress_content.html", context)
    return context


def progress(request):
    try:
        scope = dashboard_scope_for(request.user, city_code=request.GET.get("city") or None)
    except NotPermitted as exc:
        raise PermissionDenied(str(exc.message)) from exc

    today = timezone.localdate()
    year = _year(request, today)
    # The figures take some twenty queries and the page's largest render; reviewers reload
    # it often and it changes slowly, so they are kept for DASHBOARD_CACHE_SECONDS per
    # audience (a bureau, or provincial staff). The cache is an optimisation only: if it
    # fails, the figures are computed as if it were empty.
    seconds = settings.DASHBOARD_CACHE_SECONDS
    key = _cache_key(request.user, scope, year, today)
    figures = None
    if seconds > 0:
        try:
            figures = cache.get(key)
        except Exception:
            logger.warning("dashboard cache unavailable", exc_info=True)
    if figures is None:
        figures = _figures(request, scope, year=year, today=today)
        if seconds > 0:
            try:
                cache.set(key, figures, seconds)
            except Exception:
                logger.warning("dashboard cache unavailable", exc_info=True)
    context = {
        **admin.site.each_context(request),
        "title": _("Progress toward the 2030 goal"),
        **figures,
    }
    return TemplateResponse(request, "dashboard/progress.html", context)
