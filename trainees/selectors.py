"""Who sees which trainees and enrolments, and continuing-education hours (继续教育学时)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear, Greatest

from accounts.models import Role
from institutions.selectors import plan_scope_q
from trainees.models import Application, Enrolment, Trainee


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
