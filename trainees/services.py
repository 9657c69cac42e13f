"""Trainees, enrolment in a class, hours and the completion test (实施培训).

培训机构对完成规定学时和内容的学员进行结业考核，颁发培训合格证书。
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role
from core.errors import ApplicationError, Conflict, NotPermitted
from core.identity import normalize_resident_id
from institutions.models import PlanStatus, TrainingPlan
from institutions.services import is_institution_staff_of
from trainees.models import CompletionResult, Enrolment, Trainee

TRAINEE_FIELDS = (
    "resident_id",
    "name",
    "phone",
    "category",
    "household_city",
    "residence_city",
    "employment_city",
    "school_name",
    "school_city",
    "graduation_year",
    "bank_name",
    "bank_account",
    "user",
)


def _require_plan_staff(actor, plan: TrainingPlan) -> None:
    if not is_institution_staff_of(actor, plan.institution_id):
        raise NotPermitted("not_permitted", _("Only the institution's own staff may do this."))


def _require_accepted(plan: TrainingPlan) -> None:
    if plan.status != PlanStatus.ACCEPTED:
        raise ApplicationError(
            "plan_not_accepted",
            _("The plan has not been accepted by its filing authority."),
            {"plan": plan.pk, "status": plan.status},
        )


def _require_no_certificate(enrolment: Enrolment) -> None:
    if hasattr(enrolment, "training_certificate"):
        raise Conflict(
            "certificate_exists",
            _("A training certificate has been issued; the enrolment can no longer change."),
            {"certificate": enrolment.training_certificate.number},
        )


@transaction.atomic
def trainee_create(*, actor, **fields: Any) -> Trainee:
    """Register a person. Institution staff register their trainees; provincial staff may too."""
    if actor is None or not (actor.is_provincial or getattr(actor, "role", "") == Role.INSTITUTION):
        raise NotPermitted("not_permitted", _("Only institution or provincial staff may register trainees."))
    unknown = set(fields) - set(TRAINEE_FIELDS)
    if unknown:
        raise ApplicationError(
            "unknown_fields",
            _("These fields cannot be set on a trainee: %(fields)s") % {"fields": ", ".join(sorted(unknown))},
        )
    trainee = Trainee(**fields)
    trainee.resident_id = normalize_resident_id(trainee.resident_id)
    if Trainee.objects.filter(resident_id=trainee.resident_id).exists():
        raise Conflict(
            "trainee_exists",
            _("A trainee with this resident ID number is already registered."),
            {"resident_id": trainee.masked_resident_id},
        )
    trainee.full_clean()
    trainee.save()
    return trainee


def overlapping_enrolments(*, trainee: Trainee, start: datetime.date, end: datetime.date, exclude_plan=None):
    """The trainee's enrolments in classes whose dates overlap [start, end] (inclusive)."""
    qs = Enrolment.objects.filter(trainee=trainee, plan__start_date__lte=end, plan__end_date__gte=start)
    if exclude_plan is not None:
        qs = qs.exclude(plan=exclude_plan)
    return qs.select_related("plan")


@transaction.atomic
def enrolment_create(*, plan: TrainingPlan, trainee: Trainee, actor) -> Enrolment:
    """Enrol a trainee in an accepted plan's class.

    Refused when the plan is not accepted (``plan_not_accepted``), the class is full
    (``class_full``), the trainee is already in it (``already_enrolled``) or sits in another
    class whose dates overlap (``overlapping_class``).
    """
    _require_plan_staff(actor, plan)
    # Lock order is always plan, then trainee. The plan lock serialises the class-size
    # count between two clerks; the trainee lock serialises the overlap check between two
    # institutions enrolling the same person at once.
    plan = TrainingPlan.objects.select_for_update().get(pk=plan.pk)
    trainee = Trainee.objects.select_for_update().get(pk=trainee.pk)
    _require_accepted(plan)
    if Enrolment.objects.filter(plan=plan, trainee=trainee).exists():
        raise Conflict("already_enrolled", _("The trainee is already enrolled in this class."))
    clash = overlapping_enrolments(trainee=trainee, start=plan.start_date, end=plan.end_date).first()
    if clash is not None and clash.plan.institution_id == plan.institution_id:
        raise Conflict(
            "overlapping_class",
            _(
                "The trainee is enrolled in another class whose dates overlap (%(title)s, %(start)s to %(end)s)."
            )
            % {"title": clash.plan.title, "start": clash.plan.start_date, "end": clash.plan.end_date},
            {"plan": clash.plan_id},
        )
    if clash is not None:
        # Another institution's class: say that it exists, never which one. Its title, dates
        # and id are that institution's business (and would tell a competitor who trains whom).
        raise Conflict(
            "overlapping_class",
            _(
                "The trainee is enrolled in another institution's class whose dates overlap this "
                "class. A person may attend one class at a time: choose a class with other dates, "
                "or ask the trainee to finish or leave the other class first."
            ),
        )
    if Enrolment.objects.filter(plan=plan).count() >= plan.class_size:
        raise Conflict("class_full", _("The class is full."), {"class_size": plan.class_size})
    enrolment = Enrolment(plan=plan, trainee=trainee)
    enrolment.full_clean()
    enrolment.save()
    return enrolment


def _lock_enrolment(enrolment: Enrolment) -> Enrolment:
    return Enrolment.objects.select_for_update().select_related("plan").get(pk=enrolment.pk)


def check_hours(plan: TrainingPlan, hours_online: Decimal, hours_offline: Decimal) -> None:
    if hours_online < 0 or hours_offline < 0:
        raise ApplicationError("invalid_hours", _("Hours cannot be negative."))
    if hours_online > plan.hours_online or hours_offline > plan.hours_offline:
        raise ApplicationError(
            "hours_exceed_plan",
            _("Recorded hours cannot exceed the plan's hours (online %(on)s, offline %(off)s).")
            % {"on": plan.hours_online, "off": plan.hours_offline},
        )


@transaction.atomic
def enrolment_record_hours(
    *, enrolment: Enrolment, hours_online: Decimal, hours_offline: Decimal, actor
) -> Enrolment:
    """Record the hours attended, online and offline (线上+线下)."""
    _require_plan_staff(actor, enrolment.plan)
    enrolment = _lock_enrolment(enrolment)
    _require_accepted(enrolment.plan)
    _require_no_certificate(enrolment)
    hours_online, hours_offline = Decimal(hours_online), Decimal(hours_offline)
    check_hours(enrolment.plan, hours_online, hours_offline)
    enrolment.hours_online = hours_online
    enrolment.hours_offline = hours_offline
    enrolment.full_clean()
    enrolment.save(update_fields=["hours_online", "hours_offline"])
    return enrolment


@transaction.atomic
def enrolment_record_completion(*, enrolment: Enrolment, passed: bool, on: datetime.date, actor) -> Enrolment:
    """Record the completion test (结业考核), passed or failed, on a date within or after the class."""
    _require_plan_staff(actor, enrolment.plan)
    enrolment = _lock_enrolment(enrolment)
    _require_accepted(enrolment.plan)
    _require_no_certificate(enrolment)
    if on < enrolment.plan.start_date:
        raise ApplicationError("invalid_date", _("The completion test cannot be before the class starts."))
    enrolment.completion_result = CompletionResult.PASSED if passed else CompletionResult.FAILED
    enrolment.completion_date = on
    enrolment.full_clean()
    enrolment.save(update_fields=["completion_result", "completion_date"])
    return enrolment
