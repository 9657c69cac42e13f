"""Reads of the risk app (the dashboard may import these)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from risk.models import RiskSignal, SignalCode, SpotCheck
from subsidies.selectors import claims_visible_to


def signals_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The signals of the claims the user may see."""
    qs = RiskSignal.objects.all() if queryset is None else queryset
    return qs.filter(claim__in=claims_visible_to(user).values("pk"))


def claim_signals(claim_id: int) -> QuerySet:
    return (
        RiskSignal.objects.filter(claim_id=claim_id)
        .select_related("disposed_by")
        .order_by("-is_current", "code")
    )


def spot_checks_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """Provincial staff see every spot check; a bureau reviewer those of their bureau."""
    qs = SpotCheck.objects.all() if queryset is None else queryset
    if user is None or not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_provincial:
        return qs
    if user.is_bureau_reviewer and user.bureau_id:
        return qs.filter(bureau_id=user.bureau_id)
    return qs.none()


def signal_counts(user) -> dict:
    """Current signals by code and by the claim's city, for the dashboard.

    ``{"by_code": [(label, count)], "by_city": [(city, count)], "undisposed": n}``.
    """
    current = signals_visible_to(user).filter(is_current=True)
    by_code = dict(current.values("code").annotate(n=Count("id")).values_list("code", "n"))
    by_city = (
        current.values("claim__bureau__city__name", "claim__bureau__city__code")
        .annotate(n=Count("id"))
        .order_by("claim__bureau__city__code")
    )
    return {
        "by_code": [(code.label, by_code.get(code.value, 0)) for code in SignalCode],
        "by_city": [(row["claim__bureau__city__name"] or "-", row["n"]) for row in by_city],
        "undisposed": current.filter(disposition="").count(),
    }
