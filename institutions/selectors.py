"""Who sees which plans and institutions.

Nobody sees another city's or institution's records: a bureau sees the plans filed with it
and the plans of institutions in its city; an institution its own; an evaluation
institution the plans that name it; provincial staff everything.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Role
from institutions.models import EvaluationInstitution, PlanStatus, TrainingInstitution, TrainingPlan


def plan_scope_q(user, prefix: str = "") -> Q | None:
    """The visibility of plans as a ``Q`` on ``<prefix>`` (a path to a TrainingPlan), so other
    selectors can reuse it on enrolments and certificates. ``None`` means "everything";
    an always-false ``Q`` means nothing."""
    p = prefix
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_provincial:
        return None
    if user.is_bureau_reviewer and user.bureau_id:
        bureau = user.bureau
        q = Q(**{f"{p}filing_authority_id": bureau.pk})
        if bureau.city_id:
            q |= Q(**{f"{p}institution__city_id": bureau.city_id})
        return q
    if user.role == Role.INSTITUTION and user.institution_id:
        return Q(**{f"{p}institution_id": user.institution_id})
    if user.role == Role.EVALUATOR and user.evaluator_id:
        return Q(**{f"{p}evaluator_id": user.evaluator_id})
    return Q(pk__in=[])


def plans_visible_to(user) -> QuerySet[TrainingPlan]:
    qs = TrainingPlan.objects.select_related(
        "institution", "occupation", "direction", "evaluator", "filing_authority"
    )
    q = plan_scope_q(user)
    return qs if q is None else qs.filter(q)


def public_plans() -> QuerySet[TrainingPlan]:
    """培训公告: accepted plans, for anyone (institution, occupation, level, dates, fee)."""
    return (
        TrainingPlan.objects.filter(status=PlanStatus.ACCEPTED)
        .select_related("institution", "institution__city", "occupation", "direction", "evaluator")
        .order_by("-start_date", "id")
    )


def institutions_visible_to(user) -> QuerySet[TrainingInstitution]:
    qs = TrainingInstitution.objects.select_related("city")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_provincial:
        return qs
    if user.is_bureau_reviewer and user.bureau_id:
        bureau = user.bureau
        return qs.filter(Q(city_id=bureau.city_id) | Q(plans__filing_authority_id=bureau.pk)).distinct()
    if user.role == Role.INSTITUTION and user.institution_id:
        return qs.filter(pk=user.institution_id)
    if user.role == Role.EVALUATOR and user.evaluator_id:
        return qs.filter(plans__evaluator_id=user.evaluator_id).distinct()
    return qs.none()


def evaluators_visible_to(user) -> QuerySet[EvaluationInstitution]:
    """Evaluation institutions are a public catalogue for staff; an evaluator sees itself."""
    qs = EvaluationInstitution.objects.select_related("city")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.role == Role.EVALUATOR:
        return qs.filter(pk=user.evaluator_id)
    if user.role == Role.TRAINEE or not user.role and not user.is_superuser:
        return qs.none()
    return qs
