"""Reads behind the filing reports and the report jobs."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Role
from institutions.models import PlanStatus, TrainingPlan
from reference.models import Bureau
from reports.models import ReportJob, ReportKind
from reports.periods import Period
from subsidies.models import ClaimStatus, SubsidyClaim

# Statuses a claim can have once its bureau has decided on it. A paid claim was approved
# first; it stays in the report of the period in which it was approved (its decided_at).
DECIDED_CLAIM_STATUSES = (ClaimStatus.APPROVED, ClaimStatus.PAID, ClaimStatus.REJECTED)


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
    """Filing reports: provincial staff see every one, a bureau reviewer their bureau's.
    A list export is seen only by whoever requested it (it holds that person's scope)."""
    qs = ReportJob.objects.select_related("bureau", "requested_by")
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    own_exports = Q(kind=ReportKind.LIST, requested_by=user)
    if user.is_provincial:
        return qs.filter(~Q(kind=ReportKind.LIST) | own_exports)
    if user.role == Role.BUREAU and user.bureau_id is not None:
        return qs.filter((~Q(kind=ReportKind.LIST) & Q(bureau_id=user.bureau_id)) | own_exports)
    return qs.filter(own_exports)
