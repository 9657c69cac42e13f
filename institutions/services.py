"""Filing a training plan (制定计划) and the filing authority's decision (备案).

各培训机构制定培训计划和方案，并商评价机构确定专业技术等级考核计划和方案，由培训机构所在地
人社保部门报省人社保厅备案，省部属高校培训机构直接报省人社保厅备案。

The workflow is declared as data (:data:`PLAN_TRANSITIONS`): from a status, the statuses it
may move to and the role that moves it. Every move writes a :class:`PlanEvent`.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from core.errors import ApplicationError, Conflict, NotPermitted
from institutions.models import (
    EvaluationInstitution,
    ListingStatus,
    PlanEvent,
    PlanStatus,
    TrainingInstitution,
    TrainingPlan,
)

# Who moves a plan from one status to another: "institution" (the institution's own staff)
# or "authority" (a reviewer of the plan's filing authority).
PLAN_TRANSITIONS: dict[str, dict[str, str]] = {
    PlanStatus.DRAFT: {PlanStatus.FILED: "institution"},
    PlanStatus.FILED: {PlanStatus.ACCEPTED: "authority", PlanStatus.RETURNED: "authority"},
    PlanStatus.RETURNED: {PlanStatus.FILED: "institution"},
    PlanStatus.ACCEPTED: {},
}

# Fields an institution writes; everything else (status, authority, decision) is the workflow's.
PLAN_EDITABLE_FIELDS = (
    "title",
    "occupation",
    "direction",
    "level",
    "start_date",
    "end_date",
    "hours_online",
    "hours_offline",
    "class_size",
    "fee",
    "evaluator",
    "level_test_plan",
)
EDITABLE_STATUSES = (PlanStatus.DRAFT, PlanStatus.RETURNED)


class InvalidTransition(Conflict):
    def __init__(self, plan: TrainingPlan, to_status: str):
        super().__init__(
            "invalid_transition",
            _("A plan in status “%(status)s” cannot move to “%(to)s”.")
            % {"status": plan.get_status_display(), "to": PlanStatus(to_status).label},
            {"from": plan.status, "to": str(to_status)},
        )


def _today() -> datetime.date:
    return timezone.localdate()


def is_institution_staff_of(user, institution_id: int | None) -> bool:
    return (
        user is not None
        and getattr(user, "role", "") == Role.INSTITUTION
        and user.institution_id is not None
        and user.institution_id == institution_id
    )


def is_reviewer_of(user, plan: TrainingPlan) -> bool:
    """The filing authority's reviewer: its bureau's staff, or provincial staff for plans
    filed with the province."""
    if user is None or not user.is_authenticated:
        return False
    authority = plan.filing_authority
    if authority.is_province:
        return user.is_provincial
    return user.is_reviewer_of_bureau(authority.pk)


def _require_institution_staff(actor, institution: TrainingInstitution) -> None:
    if not is_institution_staff_of(actor, institution.pk):
        raise NotPermitted("not_permitted", _("Only the institution's own staff may do this."))


def check_institution_listed(institution: TrainingInstitution, day: datetime.date) -> None:
    """培训工作由纳入人力资源社会保障部培训机构目录的我省相关培训机构负责: listed, not suspended."""
    status = institution.status_on(day)
    if status != ListingStatus.LISTED:
        raise ApplicationError(
            "institution_not_listed",
            _("The training institution is not on the catalogue, or is suspended, on %(day)s.")
            % {"day": day.isoformat()},
            {"institution": institution.pk, "status": status},
        )


def check_evaluator_listed(evaluator: EvaluationInstitution, day: datetime.date) -> None:
    """由纳入人力资源社会保障部目录的相关评价机构负责."""
    status = evaluator.status_on(day)
    if status != ListingStatus.LISTED:
        raise ApplicationError(
            "evaluator_not_listed",
            _("The evaluation institution is not on the catalogue, or is suspended, on %(day)s.")
            % {"day": day.isoformat()},
            {"evaluator": evaluator.pk, "status": status},
        )


def _apply_fields(plan: TrainingPlan, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(PLAN_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            "unknown_fields",
            _("These fields cannot be set on a plan: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
            {"fields": sorted(unknown)},
        )
    for name, value in fields.items():
        setattr(plan, name, value)


def _validate_plan(plan: TrainingPlan) -> None:
    from django.core.exceptions import ValidationError

    plan.full_clean()
    if plan.direction_id and plan.direction.occupation_id != plan.occupation_id:
        raise ValidationError(
            {"direction": _("The direction does not belong to the occupation.")}, code="direction_mismatch"
        )


def _filing_authority(institution: TrainingInstitution):
    from reference.models import Bureau

    try:
        return institution.filing_authority()
    except Bureau.DoesNotExist:
        raise ApplicationError(
            "no_filing_authority", _("No bureau is set up to receive this institution's plans.")
        ) from None


def _log(plan: TrainingPlan, *, actor, from_status: str, to_status: str, reason: str = "") -> None:
    PlanEvent.objects.create(
        plan=plan, actor=actor, from_status=from_status, to_status=to_status, reason=reason
    )


@transaction.atomic
def plan_create(*, institution: TrainingInstitution, actor, **fields: Any) -> TrainingPlan:
    """A new plan in draft. The institution comes from the actor, never from the form."""
    _require_institution_staff(actor, institution)
    plan = TrainingPlan(institution=institution, status=PlanStatus.DRAFT)
    _apply_fields(plan, fields)
    plan.filing_authority = _filing_authority(institution)
    _validate_plan(plan)
    plan.save()
    _log(plan, actor=actor, from_status="", to_status=PlanStatus.DRAFT)
    return plan


@transaction.atomic
def plan_update(*, plan: TrainingPlan, actor, **fields: Any) -> TrainingPlan:
    """Correct a plan while it is a draft or was returned (filed and accepted plans are frozen)."""
    _require_institution_staff(actor, plan.institution)
    locked = TrainingPlan.objects.select_for_update().get(pk=plan.pk)
    if locked.status not in EDITABLE_STATUSES:
        raise Conflict(
            "invalid_transition",
            _("Only a draft or returned plan can be changed."),
            {"status": locked.status},
        )
    _apply_fields(locked, fields)
    _validate_plan(locked)
    locked.save()
    return locked


def _move(
    plan: TrainingPlan, *, to_status: str, actor, role: str, reason: str = "", **changes
) -> TrainingPlan:
    # The plan row serialises the decision: two reviewers clicking at once, or a clerk
    # filing while a reviewer decides, see each other's result.
    locked = TrainingPlan.objects.select_for_update().select_related("filing_authority").get(pk=plan.pk)
    allowed = PLAN_TRANSITIONS[locked.status]
    if allowed.get(to_status) != role:
        raise InvalidTransition(locked, to_status)
    from_status = locked.status
    locked.status = to_status
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    _log(locked, actor=actor, from_status=from_status, to_status=to_status, reason=reason)
    return locked


@transaction.atomic
def plan_file(*, plan: TrainingPlan, actor) -> TrainingPlan:
    """File a draft or returned plan with its filing authority.

    Only an institution on the catalogue and not suspended may file, and only with a
    catalogued evaluation institution (both judged today). The filing authority is
    recomputed: the institution's city bureau, or the province for provincial and
    ministry universities.
    """
    _require_institution_staff(actor, plan.institution)
    today = _today()
    check_institution_listed(plan.institution, today)
    check_evaluator_listed(plan.evaluator, today)
    return _move(
        plan,
        to_status=PlanStatus.FILED,
        actor=actor,
        role="institution",
        filing_authority=_filing_authority(plan.institution),
        filed_at=timezone.now(),
        return_reason="",
        decided_at=None,
        decided_by=None,
    )


@transaction.atomic
def plan_accept(*, plan: TrainingPlan, actor) -> TrainingPlan:
    """备案: the filing authority accepts the plan; only an accepted plan may enrol."""
    if not is_reviewer_of(actor, plan):
        raise NotPermitted("not_permitted", _("Only the plan's filing authority may decide on it."))
    return _move(
        plan,
        to_status=PlanStatus.ACCEPTED,
        actor=actor,
        role="authority",
        decided_at=timezone.now(),
        decided_by=actor,
    )


@transaction.atomic
def plan_return(*, plan: TrainingPlan, actor, reason: str) -> TrainingPlan:
    """Return a filed plan to the institution with a reason; it may correct and refile."""
    if not is_reviewer_of(actor, plan):
        raise NotPermitted("not_permitted", _("Only the plan's filing authority may decide on it."))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", _("A reason is required to return a plan."))
    return _move(
        plan,
        to_status=PlanStatus.RETURNED,
        actor=actor,
        role="authority",
        reason=reason,
        return_reason=reason,
        decided_at=timezone.now(),
        decided_by=actor,
    )
