"""Trainees, enrolment in a class, hours and the completion test (实施培训).

培训机构对完成规定学时和内容的学员进行结业考核，颁发培训合格证书。
"""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MessageKind, Role
from accounts.services import message_send
from core.errors import ApplicationError, Conflict, NotPermitted
from core.identity import normalize_account_number, normalize_resident_id, validate_account_number
from core.pii_fields import blind_lookup
from core.sms import send_sms
from institutions.models import PlanStatus, TrainingPlan
from institutions.services import is_institution_staff_of
from trainees.models import (
    SESSIONLESS_SOURCES,
    Application,
    ApplicationStatus,
    Attendance,
    AttendanceSource,
    ClassEvaluation,
    ClassSession,
    CompletionResult,
    Enrolment,
    PayeeKind,
    SessionMode,
    Trainee,
)

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
    "payee_kind",
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
    exists = Conflict(
        "trainee_exists",
        _("A trainee with this resident ID number is already registered."),
        {"resident_id": trainee.masked_resident_id},
    )
    if Trainee.objects.filter(**blind_lookup(Trainee, "resident_id", trainee.resident_id)).exists():
        raise exists
    try:
        trainee.full_clean()
    except ValidationError as exc:
        # Registered by another request since the check above (the unique constraint's code).
        if any(e.code == "trainee_exists" for e in getattr(exc, "error_dict", {}).get(NON_FIELD_ERRORS, [])):
            raise exists from None
        raise
    try:
        # The check above cannot see a registration committed a moment later by another
        # request; trainees_trainee_resident_id_unique (on the blind index) refuses it.
        with transaction.atomic():
            trainee.save()
    except IntegrityError as exc:
        if "resident_id" not in str(exc):  # the constraint (PostgreSQL) or column (SQLite)
            raise
        raise exists from None
    return trainee


def trainee_set_payee_account(*, trainee: Trainee, kind: str, bank_name: str, account: str, actor) -> Trainee:
    """Set the account the trainee's subsidies are paid to (收款账户).

    The trainee sets their own; institution staff of a class the trainee is in, and
    provincial staff, may set it for them. The account must be in the trainee's own name
    (a social-security card's financial account or the trainee's bank account): the
    trainee confirms that when saving it. Each claim copies the account at submission.
    """
    own = actor is not None and trainee.user_id is not None and actor.pk == trainee.user_id
    staff = actor is not None and (
        actor.is_provincial
        or (
            getattr(actor, "role", "") == Role.INSTITUTION
            and trainee.enrolments.filter(plan__institution_id=actor.institution_id).exists()
        )
    )
    if not (own or staff):
        raise NotPermitted(
            "not_permitted", _("Only the trainee or their institution may set the payee account.")
        )
    errors: dict[str, str] = {}
    if kind not in PayeeKind.values:
        errors["kind"] = _("Choose the type of account: social security card or bank account.")
    bank_name = " ".join((bank_name or "").split())
    if not bank_name:
        errors["bank_name"] = _("Enter the name of the bank that keeps the account.")
    account = normalize_account_number(account)
    try:
        validate_account_number(account)
    except ValidationError as exc:
        errors["account"] = exc.messages[0]
    if errors:
        raise ApplicationError(
            "invalid_payee_account", _("The payee account is incomplete or wrong."), errors
        )
    with transaction.atomic():
        trainee = Trainee.objects.select_for_update().get(pk=trainee.pk)
        trainee.payee_kind = kind
        trainee.bank_name = bank_name
        trainee.bank_account = account
        trainee.full_clean()
        trainee.save(update_fields=["payee_kind", "bank_name", "bank_account"])
    return trainee


def trainee_tell(
    *, trainee: Trainee, kind: str, title: str, body: str, link: str = "/me/", subject=None
) -> None:
    """A message (站内信) to the trainee about a change that concerns them, if they have a
    login; call it inside the change's transaction so both commit or neither does."""
    if trainee.user_id is None:
        return
    message_send(recipient=trainee.user, kind=kind, title=title, body=body, link=link, subject=subject)


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
    trainee_tell(
        trainee=trainee,
        kind=MessageKind.TRAINING,
        title=_("Enrolled in %(title)s") % {"title": plan.title},
        body=_("%(institution)s enrolled you in %(title)s, %(start)s to %(end)s.")
        % {
            "institution": plan.institution.name,
            "title": plan.title,
            "start": plan.start_date.isoformat(),
            "end": plan.end_date.isoformat(),
        },
        subject=enrolment,
    )
    return enrolment


def _lock_enrolment(enrolment: Enrolment) -> Enrolment:
    # The enrolment row only (``of``): the plan is read, not locked. An attendance import
    # locks the plan and then the class's enrolments; locking the plan here too, in the
    # same statement, could take the two in the other order and deadlock with it.
    return Enrolment.objects.select_for_update(of=("self",)).select_related("plan").get(pk=enrolment.pk)


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
    """Record the hours attended, online and offline (线上+线下), as totals.

    The hours are derived from attendance; a total typed in is kept as a record of its own
    (source ``total``, no session) that makes up the difference between the sessions
    recorded and the total, so what was typed is still traceable.
    """
    _require_plan_staff(actor, enrolment.plan)
    enrolment = _lock_enrolment(enrolment)
    _require_accepted(enrolment.plan)
    _require_no_certificate(enrolment)
    hours_online, hours_offline = Decimal(hours_online), Decimal(hours_offline)
    check_hours(enrolment.plan, hours_online, hours_offline)
    set_total_hours(
        enrolment=enrolment,
        totals={SessionMode.ONLINE: hours_online, SessionMode.OFFLINE: hours_offline},
        actor=actor,
    )
    return refresh_hours(enrolment_ids=[enrolment.pk])[enrolment.pk]


def set_total_hours(*, enrolment: Enrolment, totals: dict[str, Decimal], actor, now=None) -> None:
    """Make the derived hours of each mode equal ``totals`` with one ``total`` record per mode.

    The caller holds the enrolment lock. A total below the sessions already recorded is
    refused: the attendance itself must be corrected.
    """
    now = now or timezone.now()
    current = list(
        Attendance.objects.current()
        .filter(enrolment_id=enrolment.pk)
        .values("id", "mode", "source", "minutes")
    )
    for mode, hours in totals.items():
        wanted = int((Decimal(hours) * 60).to_integral_value(rounding=ROUND_HALF_UP))
        by_session = sum(
            r["minutes"] for r in current if r["mode"] == mode and r["source"] not in SESSIONLESS_SOURCES
        )
        lump = [r for r in current if r["mode"] == mode and r["source"] in SESSIONLESS_SOURCES]
        lump_minutes = sum(r["minutes"] for r in lump)
        needed = wanted - by_session
        if needed < 0:
            raise ApplicationError(
                "hours_below_attendance",
                _(
                    "The sessions attended already add up to %(hours)s hours %(mode)s; correct the attendance "
                    "records instead of entering a smaller total."
                )
                % {"hours": minutes_to_hours(by_session), "mode": SessionMode(mode).label},
            )
        if needed == lump_minutes:
            continue
        if not lump:
            Attendance.objects.create(
                enrolment=enrolment,
                mode=mode,
                minutes=needed,
                source=AttendanceSource.TOTAL,
                operator=actor,
                recorded_at=now,
            )
            continue
        # Correct the last sessionless record; any other (an opening total and a later one)
        # is corrected to zero, so only one stands.
        for extra in lump[:-1]:
            Attendance.objects.create(
                enrolment=enrolment,
                mode=mode,
                minutes=0,
                source=AttendanceSource.TOTAL,
                operator=actor,
                recorded_at=now,
                corrects_id=extra["id"],
                reason=_("Replaced by a total entered by hand."),
            )
        Attendance.objects.create(
            enrolment=enrolment,
            mode=mode,
            minutes=needed,
            source=AttendanceSource.TOTAL,
            operator=actor,
            recorded_at=now,
            corrects_id=lump[-1]["id"],
            reason=_("Total hours entered by hand."),
        )


def minutes_to_hours(minutes: int) -> Decimal:
    """Hours to one decimal, rounded down: a trainee is never credited time not attended."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def refresh_hours(*, enrolment_ids) -> dict[int, Enrolment]:
    """Derive ``hours_online`` and ``hours_offline`` of the enrolments from their current
    attendance records and store them on the enrolment (a cache every reader uses)."""
    ids = list(enrolment_ids)
    totals: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        for row in (
            Attendance.objects.current()
            .filter(enrolment_id__in=chunk)
            .values("enrolment_id", "mode")
            .annotate(total=Sum("minutes"))
            .order_by()
        ):
            totals[row["enrolment_id"]][row["mode"]] = row["total"] or 0
    enrolments = {}
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        enrolments.update({e.pk: e for e in Enrolment.objects.filter(pk__in=chunk).select_related("plan")})
    changed = []
    for pk, enrolment in enrolments.items():
        online = minutes_to_hours(totals[pk].get(SessionMode.ONLINE, 0))
        offline = minutes_to_hours(totals[pk].get(SessionMode.OFFLINE, 0))
        if (enrolment.hours_online, enrolment.hours_offline) != (online, offline):
            enrolment.hours_online, enrolment.hours_offline = online, offline
            changed.append(enrolment)
    Enrolment.objects.bulk_update(changed, ["hours_online", "hours_offline"], batch_size=1000)
    return enrolments


def hours_shortfall(enrolment: Enrolment) -> str | None:
    """Why the enrolment's hours fall short of its plan's, or None."""
    plan = enrolment.plan
    if enrolment.hours_online >= plan.hours_online and enrolment.hours_offline >= plan.hours_offline:
        return None
    return _(
        "The trainee has attended %(on)s of the plan's %(pon)s hours online and %(off)s of %(poff)s hours "
        "offline; record the missing attendance before passing the completion test."
    ) % {
        "on": enrolment.hours_online,
        "pon": plan.hours_online,
        "off": enrolment.hours_offline,
        "poff": plan.hours_offline,
    }


@transaction.atomic
def enrolment_record_completion(*, enrolment: Enrolment, passed: bool, on: datetime.date, actor) -> Enrolment:
    """Record the completion test (结业考核), passed or failed, on a date within or after the class."""
    _require_plan_staff(actor, enrolment.plan)
    enrolment = _lock_enrolment(enrolment)
    _require_accepted(enrolment.plan)
    _require_no_certificate(enrolment)
    if on < enrolment.plan.start_date:
        raise ApplicationError("invalid_date", _("The completion test cannot be before the class starts."))
    # 培训机构对完成规定学时和内容的学员进行结业考核: a pass needs the plan's hours.
    shortfall = hours_shortfall(enrolment) if passed else None
    if shortfall:
        raise ApplicationError("hours_incomplete", shortfall)
    enrolment.completion_result = CompletionResult.PASSED if passed else CompletionResult.FAILED
    enrolment.completion_date = on
    enrolment.full_clean()
    enrolment.save(update_fields=["completion_result", "completion_date"])
    return enrolment


@transaction.atomic
def session_create(
    *,
    plan: TrainingPlan,
    date: datetime.date,
    starts_at: datetime.time,
    ends_at: datetime.time,
    mode: str,
    topic: str,
    venue: str,
    actor,
) -> ClassSession:
    """Add a session (课次) to an accepted plan's class, within the class's dates."""
    _require_plan_staff(actor, plan)
    plan = TrainingPlan.objects.select_for_update().get(pk=plan.pk)
    _require_accepted(plan)
    errors: dict[str, str] = {}
    if not (plan.start_date <= date <= plan.end_date):
        errors["date"] = _("The session must fall within the class's dates (%(start)s to %(end)s).") % {
            "start": plan.start_date,
            "end": plan.end_date,
        }
    if ends_at <= starts_at:
        errors["ends_at"] = _("The session must end after it starts.")
    if mode not in SessionMode.values:
        errors["mode"] = _("Choose online or offline.")
    if not (topic or "").strip():
        errors["topic"] = _("Enter the session's topic.")
    if not (venue or "").strip():
        errors["venue"] = _("Enter the classroom or the online platform.")
    if errors:
        raise ApplicationError("invalid_session", _("The session is incomplete or wrong."), errors)
    if ClassSession.objects.filter(plan=plan, date=date, starts_at=starts_at).exists():
        raise Conflict(
            "session_exists",
            _("The class already has a session starting at %(time)s on %(date)s.")
            % {"time": starts_at.strftime("%H:%M"), "date": date},
        )
    session = ClassSession(
        plan=plan,
        date=date,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        topic=topic.strip(),
        venue=venue.strip(),
        created_by=actor,
    )
    session.full_clean()
    session.save()
    return session


def attendance_minutes(
    *, session: ClassSession, signed_in_at: datetime.datetime | None, signed_out_at: datetime.datetime | None
) -> int | None:
    """Minutes attended from sign-in and sign-out, counted only within the session's times."""
    if signed_in_at is None or signed_out_at is None:
        return None
    start, end = session_bounds(session)
    inside = min(end, signed_out_at) - max(start, signed_in_at)
    return max(0, int(inside.total_seconds() // 60))


def session_bounds(session: ClassSession) -> tuple[datetime.datetime, datetime.datetime]:
    """When the session starts and ends, in Zhejiang time (the settings' zone). Cached on the
    instance: an import asks once per row."""
    bounds = getattr(session, "_bounds", None)
    if bounds is None:
        tz = timezone.get_default_timezone()
        bounds = (
            datetime.datetime.combine(session.date, session.starts_at, tzinfo=tz),
            datetime.datetime.combine(session.date, session.ends_at, tzinfo=tz),
        )
        session._bounds = bounds
    return bounds


def _check_attendance_values(
    *, session: ClassSession, minutes: int | None, signed_in_at, signed_out_at
) -> int:
    errors: dict[str, str] = {}
    if signed_in_at is not None and signed_out_at is not None and signed_out_at < signed_in_at:
        errors["signed_out_at"] = _("Signing out cannot be before signing in.")
    derived = (
        None
        if errors
        else attendance_minutes(session=session, signed_in_at=signed_in_at, signed_out_at=signed_out_at)
    )
    if minutes is None:
        minutes = derived
    if minutes is None and not errors:
        errors["minutes"] = _("Enter the minutes attended, or both the sign-in and sign-out times.")
    elif minutes is not None and not (0 <= minutes <= session.minutes):
        errors["minutes"] = _("Between 0 and the session's %(n)d minutes.") % {"n": session.minutes}
    if errors:
        raise ApplicationError(
            "invalid_attendance", _("The attendance record is incomplete or wrong."), errors
        )
    return minutes


@transaction.atomic
def attendance_record(
    *,
    enrolment: Enrolment,
    session: ClassSession,
    actor,
    minutes: int | None = None,
    signed_in_at: datetime.datetime | None = None,
    signed_out_at: datetime.datetime | None = None,
    source: str = AttendanceSource.MANUAL,
) -> Attendance:
    """Record a trainee's attendance of a session (entered by the institution).

    A second record for the same session is refused (``attendance_exists``): a change is a
    correction (:func:`attendance_correct`), which keeps the original.
    """
    _require_plan_staff(actor, enrolment.plan)
    # The enrolment lock serialises every attendance write of one trainee in one class and
    # the hours derived from them.
    enrolment = _lock_enrolment(enrolment)
    _require_no_certificate(enrolment)
    if session.plan_id != enrolment.plan_id:
        raise ApplicationError("wrong_session", _("The session belongs to another class."))
    if source in SESSIONLESS_SOURCES:
        raise ApplicationError("invalid_attendance", _("A session's attendance cannot be a total."))
    minutes = _check_attendance_values(
        session=session, minutes=minutes, signed_in_at=signed_in_at, signed_out_at=signed_out_at
    )
    if Attendance.objects.filter(enrolment=enrolment, session=session, corrects__isnull=True).exists():
        raise Conflict(
            "attendance_exists",
            _("Attendance of this session is already recorded for the trainee; correct it instead."),
        )
    record = Attendance(
        enrolment=enrolment,
        session=session,
        mode=session.mode,
        signed_in_at=signed_in_at,
        signed_out_at=signed_out_at,
        minutes=minutes,
        source=source,
        operator=actor,
        recorded_at=timezone.now(),
    )
    record.full_clean(exclude=["enrolment", "session", "operator"])
    record.save()
    refresh_hours(enrolment_ids=[enrolment.pk])
    return record


@transaction.atomic
def attendance_correct(
    *,
    record: Attendance,
    reason: str,
    actor,
    minutes: int | None = None,
    signed_in_at: datetime.datetime | None = None,
    signed_out_at: datetime.datetime | None = None,
) -> Attendance:
    """Correct an attendance record: a new record naming the corrected one, who and why.

    The original stays as it was; the hours are derived from the correction from now on.
    Only the latest record of a chain may be corrected (``already_corrected`` otherwise).
    """
    enrolment = record.enrolment
    _require_plan_staff(actor, enrolment.plan)
    enrolment = _lock_enrolment(enrolment)
    _require_no_certificate(enrolment)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "reason_required", _("Say why the attendance is corrected."), {"reason": _("Required.")}
        )
    record = Attendance.objects.select_related("session").get(pk=record.pk)
    if Attendance.objects.filter(corrects=record).exists():
        raise Conflict(
            "already_corrected",
            _("This record has already been corrected; correct the latest record instead."),
        )
    if record.session is None:
        if minutes is None or minutes < 0:
            raise ApplicationError(
                "invalid_attendance",
                _("The attendance record is incomplete or wrong."),
                {"minutes": _("Enter the minutes (zero or more).")},
            )
        signed_in_at = signed_out_at = None
    else:
        minutes = _check_attendance_values(
            session=record.session, minutes=minutes, signed_in_at=signed_in_at, signed_out_at=signed_out_at
        )
    correction = Attendance(
        enrolment=enrolment,
        session=record.session,
        mode=record.mode,
        signed_in_at=signed_in_at,
        signed_out_at=signed_out_at,
        minutes=minutes,
        source=record.source if record.session is None else AttendanceSource.MANUAL,
        operator=actor,
        recorded_at=timezone.now(),
        corrects=record,
        reason=reason,
    )
    correction.full_clean(
        exclude=["enrolment", "session", "operator", "corrects"], validate_constraints=False
    )
    correction.save()
    refresh_hours(enrolment_ids=[enrolment.pk])
    return correction


@transaction.atomic
def evaluation_submit(
    *, enrolment: Enrolment, content: int, teaching: int, organisation: int, comment: str = "", actor
) -> ClassEvaluation:
    """The trainee rates the class once, after the completion test (1-5 on each of three)."""
    if actor is None or enrolment.trainee.user_id is None or enrolment.trainee.user_id != actor.pk:
        raise NotPermitted("not_permitted", _("Only the trainee may evaluate their own class."))
    enrolment = _lock_enrolment(enrolment)
    if enrolment.completion_result == CompletionResult.PENDING:
        raise ApplicationError(
            "not_completed",
            _("The class can be evaluated after the completion test; please come back then."),
        )
    errors: dict[str, str] = {}
    scores = {"content": content, "teaching": teaching, "organisation": organisation}
    for name, value in scores.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            errors[name] = _("Give a score from 1 to 5.")
    comment = (comment or "").strip()
    if len(comment) > 1000:
        errors["comment"] = _("At most %(n)d characters.") % {"n": 1000}
    if errors:
        raise ApplicationError("invalid_evaluation", _("The evaluation is incomplete or wrong."), errors)
    if ClassEvaluation.objects.filter(enrolment=enrolment).exists():
        raise Conflict("already_evaluated", _("You have already evaluated this class; it is rated once."))
    evaluation = ClassEvaluation(enrolment=enrolment, comment=comment, submitted_at=timezone.now(), **scores)
    evaluation.full_clean(exclude=["enrolment"], validate_unique=False)
    evaluation.save()
    return evaluation


# -- applications (报名) -----------------------------------------------------------------------

APPLICATION_FIELDS = (
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
)


def places_left(plan: TrainingPlan) -> int:
    """Seats not yet taken in the plan's class (enrolments count; applications do not)."""
    return max(plan.class_size - Enrolment.objects.filter(plan=plan).count(), 0)


def _validation_detail(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {field: " ".join(messages) for field, messages in exc.message_dict.items()}
    return {"__all__": " ".join(exc.messages)}


def application_submit(*, plan: TrainingPlan, **fields: Any) -> Application:
    """报名: anyone applies for an accepted plan's class that has not ended and has places.

    Refused with ``plan_not_accepted``, ``class_ended``, ``class_full``, ``invalid_application``
    (per-field detail), ``already_applied`` or ``already_enrolled``; nothing is written then.
    """
    unknown = set(fields) - set(APPLICATION_FIELDS)
    if unknown:
        raise ApplicationError(
            "unknown_fields",
            _("These fields cannot be set on an application: %(fields)s")
            % {"fields": ", ".join(sorted(unknown))},
        )
    _require_accepted(plan)
    if plan.end_date < timezone.localdate():
        raise ApplicationError("class_ended", _("This class has ended; choose another class."))
    application = Application(plan=plan, **fields)
    application.resident_id = normalize_resident_id(application.resident_id)
    application.phone = "".join(ch for ch in (application.phone or "") if ch.isdigit())
    errors: dict[str, str] = {}
    try:
        application.full_clean(exclude=["plan"], validate_constraints=False)
    except ValidationError as exc:
        errors.update(_validation_detail(exc))
    # The answer goes by SMS, so the number must be a mainland mobile number.
    if not (len(application.phone) == 11 and application.phone.startswith("1")):
        errors.setdefault("phone", _("Enter an 11-digit mobile phone number."))
    if errors:
        raise ApplicationError("invalid_application", _("Some answers are missing or wrong."), errors)
    if application.category == "graduate" and not (
        application.school_city_id and application.graduation_year
    ):
        raise ApplicationError(
            "invalid_application",
            _("Some answers are missing or wrong."),
            {"school_city": _("A graduate gives the school's city and the graduation year.")},
        )
    if Enrolment.objects.filter(
        plan=plan, **blind_lookup(Trainee, "resident_id", application.resident_id, prefix="trainee__")
    ).exists():
        raise Conflict("already_enrolled", _("You are already enrolled in this class."))
    if places_left(plan) <= 0:
        raise Conflict("class_full", _("The class is full."), {"class_size": plan.class_size})
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError as exc:
        # trainees_application_once_per_plan: a pending or accepted application exists
        # (a second click, or another tab, got there first).
        raise Conflict(
            "already_applied",
            _(
                "An application with this resident ID number is already waiting for this class or was accepted."
            ),
        ) from exc
    return application


def _lock_pending_application(application: Application) -> Application:
    locked = Application.objects.select_for_update().select_related("plan").get(pk=application.pk)
    if locked.status != ApplicationStatus.PENDING:
        raise Conflict(
            "application_decided",
            _("This application has already been answered (%(status)s).")
            % {"status": locked.get_status_display()},
        )
    return locked


def _tell_applicant(application: Application, text: str, trainee: Trainee | None = None) -> None:
    """SMS after commit (never announce a decision that was rolled back); and a message
    (站内信) in the same transaction when the person already has a login."""
    phone = application.phone
    transaction.on_commit(lambda: send_sms(phone=phone, text=text))
    if trainee is not None and trainee.user_id is not None:
        message_send(
            recipient=trainee.user,
            kind=MessageKind.APPLICATION,
            title=_("Your application for %(title)s") % {"title": application.plan.title},
            body=text,
            link="/me/",
            subject=application,
        )


def application_accept(*, application: Application, actor) -> Application:
    """Accept: register the person if new and enrol them, through ``trainee_create`` and
    ``enrolment_create`` and their checks (class size, overlapping classes). The applicant
    is told by SMS and can then activate an account."""
    _require_plan_staff(actor, application.plan)
    with transaction.atomic():
        # Lock order: the application, then (inside enrolment_create) the plan and the
        # trainee. The application lock makes two clerks answering at once take turns, so
        # one application is never both accepted and declined.
        application = _lock_pending_application(application)
        trainee = Trainee.objects.filter(
            **blind_lookup(Trainee, "resident_id", application.resident_id)
        ).first()
        if trainee is None:
            trainee = trainee_create(actor=actor, **{f: getattr(application, f) for f in APPLICATION_FIELDS})
        elif trainee.name != application.name:
            raise Conflict(
                "identity_mismatch",
                _(
                    "A person with this resident ID number is registered under another name; "
                    "check the applicant's identity before accepting."
                ),
            )
        enrolment = enrolment_create(plan=application.plan, trainee=trainee, actor=actor)
        application.status = ApplicationStatus.ACCEPTED
        application.enrolment = enrolment
        application.decided_at = timezone.now()
        application.decided_by = actor
        application.save(update_fields=["status", "enrolment", "decided_at", "decided_by"])
        plan = application.plan
        text = _(
            "[Digital Technology Engineers] %(name)s, %(institution)s accepted your application for "
            "%(title)s (from %(start)s). Open your online account at the trainee service: 账户激活 (/activate/)."
        ) % {
            "name": application.name,
            "institution": plan.institution.name,
            "title": plan.title,
            "start": plan.start_date.isoformat(),
        }
        _tell_applicant(application, text, trainee)
    return application


def application_decline(*, application: Application, actor, reason: str) -> Application:
    """Decline with a reason (required); the applicant is told by SMS."""
    _require_plan_staff(actor, application.plan)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ApplicationError("reason_required", _("A reason is required to decline an application."))
    with transaction.atomic():
        application = _lock_pending_application(application)
        application.status = ApplicationStatus.DECLINED
        application.decline_reason = reason
        application.decided_at = timezone.now()
        application.decided_by = actor
        application.save(update_fields=["status", "decline_reason", "decided_at", "decided_by"])
        text = _(
            "[Digital Technology Engineers] %(name)s, %(institution)s could not accept your application for "
            "%(title)s. Reason: %(reason)s. You may apply for another class in 培训公告."
        ) % {
            "name": application.name,
            "institution": application.plan.institution.name,
            "title": application.plan.title,
            "reason": reason,
        }
        _tell_applicant(
            application,
            text,
            Trainee.objects.filter(**blind_lookup(Trainee, "resident_id", application.resident_id)).first(),
        )
    return application
