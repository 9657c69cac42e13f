"""Who sees which trainees and enrolments, and continuing-education hours (继续教育学时)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear, Greatest

from accounts.models import Role
from institutions.selectors import plan_scope_q
from trainees.models import Application, Attendance, ClassSession, Enrolment, Trainee


def trainees_visible_to(user) -> QuerySet[Trainee]:
    """Provincial staff: all. A bureau: trainees of its city (household, residence, employment
    or school city) and trainees of the plans it sees. An institution: trainees enrolled in
    its plans. An evaluator: trainees in the plans that name it. A trainee: themself."""
    qs = Trainee.objects.select_related("household_city")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_provincial:
        return qs
    if user.role == Role.TRAINEE:
        return qs.filter(user=user)
    plans = plan_scope_q(user, prefix="enrolments__plan__")
    if plans is None:  # pragma: no cover - only provincial users see every plan
        return qs
    q = Q(pk__in=Trainee.objects.filter(plans).values("pk"))
    if user.is_bureau_reviewer and user.bureau_id and user.bureau.city_id:
        city = user.bureau.city_id
        q |= (
            Q(household_city_id=city)
            | Q(residence_city_id=city)
            | Q(employment_city_id=city)
            | Q(school_city_id=city)
        )
    elif user.role not in (Role.BUREAU, Role.INSTITUTION, Role.EVALUATOR):
        return qs.none()
    return qs.filter(q)


def enrolments_visible_to(user) -> QuerySet[Enrolment]:
    qs = Enrolment.objects.select_related("plan", "plan__institution", "plan__occupation", "trainee")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_provincial:
        return qs
    if user.role == Role.TRAINEE:
        return qs.filter(trainee__user=user)
    q = plan_scope_q(user, prefix="plan__")
    return qs if q is None else qs.filter(q)


def _hours_total():
    return Coalesce(
        Sum(F("hours_online") + F("hours_offline")),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=8, decimal_places=1),
    )


def continuing_education_hours(*, trainee: Trainee, year: int) -> Decimal:
    """参加数字技术工程师培育项目的培训学时可登记为参训人当年继续教育专业课学时.

    The hours attended (online plus offline) in every class of the programme, counted in
    the calendar year of the class's end date: a class is credited when it has run, and a
    class spanning new year counts once, in the year it finished. Hours of classes
    still running are included as recorded so far.
    """
    return Enrolment.objects.filter(trainee=trainee, plan__end_date__year=year).aggregate(
        total=_hours_total()
    )["total"]


def continuing_education_by_year(*, trainee: Trainee) -> list[dict]:
    """``[{"year", "hours", "classes"}]``, newest year first, for the trainee's record."""
    rows = (
        Enrolment.objects.filter(trainee=trainee)
        .annotate(year=ExtractYear("plan__end_date"))
        .values("year")
        .annotate(hours=_hours_total(), classes=Count("id"))
        .order_by("-year")
    )
    return [{"year": r["year"], "hours": r["hours"], "classes": r["classes"]} for r in rows]


def continuing_education_rows(*, trainees: QuerySet[Trainee], year: int):
    """One row per enrolment credited in ``year`` (for the export): trainee, class, hours."""
    return (
        Enrolment.objects.filter(trainee__in=trainees, plan__end_date__year=year)
        .select_related("trainee", "plan", "plan__institution", "plan__occupation")
        .order_by("trainee_id", "plan__end_date", "id")
    )


def sessions_visible_to(user) -> QuerySet[ClassSession]:
    qs = ClassSession.objects.select_related("plan", "plan__institution")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_provincial:
        return qs
    if user.role == Role.TRAINEE:
        return qs.filter(plan__enrolments__trainee__user=user).distinct()
    q = plan_scope_q(user, prefix="plan__")
    return qs if q is None else qs.filter(q)


def attendance_visible_to(user) -> QuerySet[Attendance]:
    """Every attendance record (corrected ones too) the user may read, by the enrolment's scope."""
    qs = Attendance.objects.select_related(
        "enrolment", "enrolment__trainee", "enrolment__plan", "session", "operator", "corrects"
    )
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_provincial:
        return qs
    if user.role == Role.TRAINEE:
        return qs.filter(enrolment__trainee__user=user)
    q = plan_scope_q(user, prefix="enrolment__plan__")
    if user.role == Role.BUREAU:
        # A bureau also reads the training behind the claims filed to it (the class may be
        # in another city).
        from_claims = Q(enrolment__training_certificate__claims__bureau_id=user.bureau_id)
        q = from_claims if q is None else q | from_claims
        return qs.filter(q).distinct()
    return qs if q is None else qs.filter(q)


def attendance_for_trainee(*, trainee: Trainee) -> QuerySet[Attendance]:
    """The trainee's attendance as it stands (corrections applied), class by class, session by
    session: for the trainee service's "my attendance" page."""
    return (
        Attendance.objects.current()
        .filter(enrolment__trainee=trainee)
        .select_related("session", "enrolment__plan", "enrolment__plan__institution")
        .order_by("enrolment__plan__start_date", "enrolment_id", "session__date", "session__starts_at", "id")
    )


def attendance_history(*, record: Attendance) -> list[Attendance]:
    """The chain a record belongs to, oldest first: the original and each correction."""
    chain = [record]
    while chain[0].corrects_id:
        chain.insert(0, Attendance.objects.select_related("operator").get(pk=chain[0].corrects_id))
    later = record
    while True:
        nxt = Attendance.objects.select_related("operator").filter(corrects=later).first()
        if nxt is None:
            break
        chain.append(nxt)
        later = nxt
    return chain


def sessions_minutes_by_enrolment(*, plan) -> dict[int, dict[str, int]]:
    """Minutes attended per enrolment and mode over the class's sessions (totals left out)."""
    out: dict[int, dict[str, int]] = {}
    for row in (
        Attendance.objects.current()
        .filter(enrolment__plan=plan, session__isnull=False)
        .values("enrolment_id", "mode")
        .annotate(total=Sum("minutes"))
        .order_by()
    ):
        out.setdefault(row["enrolment_id"], {})[row["mode"]] = row["total"] or 0
    return out


def overlapping_attendance(*, trainee_ids=None) -> list[dict]:
    """Pairs of a trainee's current attendance whose sessions overlap in time (two sessions
    at once, in the same class or in two), for the risk signals: ``[{"trainee_id",
    "first", "second"}]`` with the two record ids."""
    records = Attendance.objects.current().filter(session__isnull=False, minutes__gt=0)
    if trainee_ids is not None:
        # A queryset stays a subquery (the nightly run passes every open claim's trainee).
        records = records.filter(
            enrolment__trainee_id__in=trainee_ids if isinstance(trainee_ids, QuerySet) else list(trainee_ids)
        )
    rows = records.values_list(
        "id", "enrolment__trainee_id", "session__date", "session__starts_at", "session__ends_at"
    ).order_by("enrolment__trainee_id", "session__date", "session__starts_at")
    pairs: list[dict] = []
    open_by_trainee: dict[int, list[tuple]] = {}
    for pk, trainee_id, day, start, end in rows.iterator(chunk_size=5000):
        active = [r for r in open_by_trainee.get(trainee_id, []) if r[1] == day and r[2] > start]
        for other in active:
            pairs.append({"trainee_id": trainee_id, "first": other[0], "second": pk})
        active.append((pk, day, end))
        open_by_trainee[trainee_id] = active
    return pairs


def sessions_signed_in_in_one_minute(
    *, min_trainees: int = 5, within_seconds: int = 60, plan_ids=None
) -> list[dict]:
    """Sessions where every trainee signed in was signed in by one operator within less
    than ``within_seconds`` of the first (a whole class "signed in" at once), with at
    least ``min_trainees`` signed in, for the risk signals: ``[{"session_id",
    "operator_id", "count", "first", "last"}]``. ``plan_ids``: only those classes'."""
    from django.db.models import Count, Max, Min

    found = []
    records = Attendance.objects.current().filter(session__isnull=False, signed_in_at__isnull=False)
    if plan_ids is not None:
        records = records.filter(
            session__plan_id__in=plan_ids if isinstance(plan_ids, QuerySet) else list(plan_ids)
        )
    rows = (
        records.values("session_id")
        .annotate(
            count=Count("id"),
            operators=Count("operator_id", distinct=True),
            unrecorded=Count("id", filter=Q(operator_id__isnull=True)),
            first=Min("signed_in_at"),
            last=Max("signed_in_at"),
            operator=Max("operator_id"),
        )
        # One operator for every record: a record without one (a platform's own log) is not
        # a clerk signing the class in.
        .filter(count__gte=min_trainees, operators=1, unrecorded=0)
        .order_by("session_id")
    )
    for row in rows:
        if (row["last"] - row["first"]).total_seconds() < within_seconds:
            found.append(
                {
                    "session_id": row["session_id"],
                    "operator_id": row["operator"],
                    "count": row["count"],
                    "first": row["first"],
                    "last": row["last"],
                }
            )
    return found


def evaluation_averages(*, enrolments: QuerySet[Enrolment], by: str = "plan") -> list[dict]:
    """评教 averages of the evaluations of ``enrolments``, per class (``by="plan"``) or per
    institution (``by="institution"``): ``[{"id", "name", "count", "content", "teaching",
    "organisation", "overall"}]``, best first."""
    from django.db.models import Avg, Count

    key, name = (
        ("plan_id", "plan__title") if by == "plan" else ("plan__institution_id", "plan__institution__name")
    )
    rows = (
        enrolments.filter(evaluation__isnull=False)
        .values(key, name)
        .annotate(
            count=Count("evaluation"),
            content=Avg("evaluation__content"),
            teaching=Avg("evaluation__teaching"),
            organisation=Avg("evaluation__organisation"),
        )
        .order_by()
    )
    out = []
    for r in rows:
        scores = [
            Decimal(str(r[k])).quantize(Decimal("0.01")) for k in ("content", "teaching", "organisation")
        ]
        out.append(
            {
                "id": r[key],
                "name": r[name],
                "count": r["count"],
                "content": scores[0],
                "teaching": scores[1],
                "organisation": scores[2],
                "overall": (sum(scores) / 3).quantize(Decimal("0.01")),
            }
        )
    return sorted(out, key=lambda r: (-r["overall"], r["name"]))


def applications_visible_to(user):
    """报名: an institution sees the applications for its own classes; a bureau those for the
    plans it sees; provincial staff all; nobody else any (an applicant has no login yet)."""
    qs = Application.objects.select_related("plan", "plan__institution")
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_provincial:
        return qs
    if user.role not in (Role.INSTITUTION, Role.BUREAU):
        return qs.none()
    q = plan_scope_q(user, prefix="plan__")
    return qs if q is None else qs.filter(q)


def plans_with_places_left(queryset):
    """Annotate plans with ``places_left``: class size less enrolments (never below zero)."""
    return queryset.annotate(
        places_left=Greatest(
            F("class_size") - Count("enrolments", distinct=True), Value(0), output_field=IntegerField()
        )
    )
