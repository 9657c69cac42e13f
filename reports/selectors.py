"""Reads behind the filing reports and the report jobs."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Role
from institutions.models import PlanStatus, TrainingPlan
from reference.models import Bureau
from reports.models import ReportJob
from reports.periods import Period
from subsidies.models import ClaimStatus, SubsidyClaim

# Statuses a claim can have once its bureau has decided on it. A paid claim was approved
# first; it stays in the report of the period in which it was approved (its decided_at).
DECIDED_CLAIM_STATUSES = (ClaimStatus.APPROVED, ClaimStatus.PAID, ClaimStatus.REJECTED)

# The detail sheet's columns, in the order ``reports.builders`` reads them. values_list keeps
# this to one query with joins and no model instances (no per-row queries, little memory).
CLAIM_ROW_FIELDS = (
    "trainee__name",
    "trainee__resident_id",
    "occupation_id",
    "occupation__name",
    "level",
    "training_certificate__institution__name",
    "training_certificate__number",
    "level_certificate__number",
    "level_certificate__issued_on",
    "bureau__city__name",
    "basis",
    "amount",
    "status",
    "decided_at",
    "paid_on",
)

PLAN_ROW_FIELDS = (
    "institution__name",
    "institution__credit_code",
    "institution__city__name",
    "title",
    "occupation_id",
    "occupation__name",
    "direction__name",
    "level",
    "start_date",
    "end_date",
    "hours_online",
    "hours_offline",
    "class_size",
    "fee",
    "evaluator__name",
    "filing_authority__name",
    "status",
    "filed_at",
    "decided_at",
)


def claims_for_report(bureau: Bureau, period: Period) -> QuerySet[SubsidyClaim]:
    """The claims of the claims filing report (补贴申领备案表) of ``bureau`` for ``period``.

    Definition: every claim in status approved, paid or rejected whose ``decided_at`` falls on
    a day of the period, days counted in Asia/Shanghai (``period.start`` 00:00 local up to,
    not including, the day after ``period.end`` 00:00 local). A paid claim is reported in the
    period of its approval, not of its payment, so a claim is filed exactly once; its payment
    date is a column. Submitted and withdrawn claims were never decided and are not reported.
    A city bureau's report covers the claims filed to it; the provincial department's covers
    every bureau. Ordered by decision time, then id, so the file is reproducible.
    """
    start, end = period.bounds()
    qs = SubsidyClaim.objects.filter(
        status__in=DECIDED_CLAIM_STATUSES, decided_at__gte=start, decided_at__lt=end
    )
    if not bureau.is_province:
        qs = qs.filter(bureau=bureau)
    return qs.order_by("decided_at", "id")


def plans_for_report(bureau: Bureau, period: Period) -> QuerySet[TrainingPlan]:
    """The plans of the plan filing report (培训计划备案表) of ``bureau`` for ``period``.

    Definition: every plan filed with ``bureau`` (its filing authority) whose ``filed_at``
    falls on a day of the period in Asia/Shanghai, in whatever state it is now (awaiting
    acceptance, accepted or returned); drafts are not filings. A plan filed again after being
    returned is reported in the period of its latest filing. The provincial department's
    report covers plans filed with every bureau and with the province itself.
    """
    start, end = period.bounds()
    qs = TrainingPlan.objects.filter(filed_at__gte=start, filed_at__lt=end).exclude(status=PlanStatus.DRAFT)
    if not bureau.is_province:
        qs = qs.filter(filing_authority=bureau)
    return qs.order_by("filed_at", "id")


def report_jobs_visible_to(user) -> QuerySet[ReportJob]:
    """Provincial staff see every job; a bureau reviewer sees the jobs of their bureau."""
    qs = ReportJob.objects.select_related("bureau", "requested_by")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.is_provincial:
        return qs
    if user.role == Role.BUREAU and user.bureau_id is not None:
        return qs.filter(bureau_id=user.bureau_id)
    return qs.none()
