"""Who sees which certificates and level tests."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Role
from certificates.models import LevelAssessment, LevelCertificate, TrainingCertificate
from institutions.selectors import plan_scope_q
from trainees.selectors import trainees_visible_to


def _scoped(qs: QuerySet, user, *, plan_prefix: str, trainee_field: str = "trainee") -> QuerySet:
    """Provincial staff: all. A trainee: their own. Others: rows of the plans they see; a
    bureau also sees the certificates of its city's trainees (it audits their claims)."""
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_provincial:
        return qs
    if user.role == Role.TRAINEE:
        return qs.filter(**{f"{trainee_field}__user": user})
    q = plan_scope_q(user, prefix=plan_prefix)
    if q is None:  # pragma: no cover
        return qs
    if user.is_bureau_reviewer:
        q |= Q(**{f"{trainee_field}__in": trainees_visible_to(user).values("pk")})
    return qs.filter(q)


def training_certificates_visible_to(user) -> QuerySet[TrainingCertificate]:
    qs = TrainingCertificate.objects.select_related("trainee", "institution", "plan", "occupation")
    return _scoped(qs, user, plan_prefix="plan__")


def candidates_for(evaluator_id: int) -> QuerySet[TrainingCertificate]:
    """Training-certificate holders sent to an evaluation institution (their plan names it)."""
    return TrainingCertificate.objects.filter(plan__evaluator_id=evaluator_id).select_related(
        "trainee", "institution", "plan", "occupation"
    )


def level_assessments_visible_to(user) -> QuerySet[LevelAssessment]:
    qs = LevelAssessment.objects.select_related("trainee", "evaluator", "occupation", "training_certificate")
    if user is not None and user.is_authenticated and user.role == Role.EVALUATOR:
        return qs.filter(evaluator_id=user.evaluator_id)
    return _scoped(qs, user, plan_prefix="training_certificate__plan__")


def level_certificates_visible_to(user) -> QuerySet[LevelCertificate]:
    """An evaluator sees what it issued; the others see certificates backed by a training
    certificate in their scope (an institution: its own trainees' results)."""
    qs = LevelCertificate.objects.select_related("trainee", "evaluator", "occupation", "assessment")
    if user is not None and user.is_authenticated and user.role == Role.EVALUATOR:
        return qs.filter(evaluator_id=user.evaluator_id)
    return _scoped(qs, user, plan_prefix="assessment__training_certificate__plan__")
