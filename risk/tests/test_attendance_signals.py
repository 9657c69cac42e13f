"""SPEC "Training on the record": attendance feeds the risk signals. Each signal at its
boundary, set-based over many claims, evidence as data, thresholds from RiskSettings."""

import datetime

import pytest
from django.utils import timezone

from institutions.tests.factories import TrainingPlanFactory
from risk.evidence import describe
from risk.models import RiskSettings, RiskSignal, SignalCode
from risk.services import signals_compute
from subsidies.models import SubsidyClaim
from trainees.models import Attendance, AttendanceSource, ClassSession, SessionMode
from trainees.tests.factories import EnrolmentFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2024, 1, 10)


def codes(claim):
    return set(RiskSignal.objects.filter(claim=claim, is_current=True).values_list("code", flat=True))


def compute(*claims):
    return signals_compute(claims=SubsidyClaim.objects.filter(pk__in=[c.pk for c in claims]))


def session(plan, start, end, *, day=DAY, topic="第1讲"):
    return ClassSession.objects.create(
        plan=plan,
        date=day,
        starts_at=datetime.time(*start),
        ends_at=datetime.time(*end),
        mode=SessionMode.ONLINE,
        topic=topic,
        venue="平台",
    )


def at(hour, minute=0, second=0):
    return timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(hour, minute, second)))


def attend(enrolment, class_session, *, operator=None, signed_in_at=None, minutes=60, corrects=None):
    return Attendance.objects.create(
        enrolment=enrolment,
        session=class_session,
        mode=class_session.mode,
        signed_in_at=signed_in_at,
        minutes=minutes,
        source=AttendanceSource.MANUAL,
        operator=operator,
        recorded_at=timezone.now(),
        corrects=corrects,
        reason="更正" if corrects else "",
    )


def enrolment_of(claim):
    return claim.training_certificate.enrolment


# -- overlapping_attendance ------------------------------------------------------------------


def test_sessions_back_to_back_are_no_signal_but_one_minute_of_overlap_is(plan, claim_on, institution):
    claim = claim_on(plan)
    other_plan = TrainingPlanFactory(institution=institution, title="另一班")
    other = EnrolmentFactory(plan=other_plan, trainee=claim.trainee)
    attend(enrolment_of(claim), session(plan, (9, 0), (10, 0)))
    attend(other, session(other_plan, (10, 0), (11, 0)))
    compute(claim)
    assert SignalCode.OVERLAPPING_ATTENDANCE not in codes(claim)

    # One minute at once with the first class's session, back to back with its own class's.
    attend(other, session(other_plan, (9, 59), (10, 0), day=DAY, topic="第2讲"))
    compute(claim)
    signal = RiskSignal.objects.get(claim=claim, code=SignalCode.OVERLAPPING_ATTENDANCE)
    assert signal.evidence["count"] == 1
    pair = signal.evidence["pairs"][0]
    assert pair["minutes"] == 1
    assert [(s["class"], s["start"], s["end"]) for s in pair["sessions"]] == [
        (plan.title, "09:00", "10:00"),
        ("另一班", "09:59", "10:00"),
    ]
    assert "重叠" in str(describe(signal.code, signal.evidence)) or "overlapping" in str(
        describe(signal.code, signal.evidence)
    )


def test_the_overlap_threshold_is_a_setting(plan, claim_on, institution):
    claim = claim_on(plan)
    other_plan = TrainingPlanFactory(institution=institution)
    other = EnrolmentFactory(plan=other_plan, trainee=claim.trainee)
    attend(enrolment_of(claim), session(plan, (9, 0), (10, 0)))
    attend(other, session(other_plan, (9, 50), (11, 0)))  # ten minutes at once
    settings = RiskSettings.current()
    settings.attendance_overlap_min_minutes = 11
    settings.save()
    compute(claim)
    assert SignalCode.OVERLAPPING_ATTENDANCE not in codes(claim)
    settings.attendance_overlap_min_minutes = 10
    settings.save()
    compute(claim)
    assert SignalCode.OVERLAPPING_ATTENDANCE in codes(claim)


def test_an_attendance_corrected_to_no_minutes_no_longer_overlaps(plan, claim_on, institution):
    claim = claim_on(plan)
    other_plan = TrainingPlanFactory(institution=institution)
    other = EnrolmentFactory(plan=other_plan, trainee=claim.trainee)
    attend(enrolment_of(claim), session(plan, (9, 0), (10, 0)))
    wrong = attend(other, session(other_plan, (9, 30), (11, 0)))
    compute(claim)
    assert SignalCode.OVERLAPPING_ATTENDANCE in codes(claim)
    attend(other, wrong.session, minutes=0, corrects=wrong)
    compute(claim)
    assert SignalCode.OVERLAPPING_ATTENDANCE not in codes(claim)  # kept, no longer current
    assert RiskSignal.objects.filter(claim=claim, code=SignalCode.OVERLAPPING_ATTENDANCE).exists()


# -- class_signed_in_at_once -----------------------------------------------------------------


def class_signed_in(plan, claim_on, operator, *, size=5, spread_seconds=59, operators=None):
    """A claim whose class of ``size`` trainees was signed in between 9:00:00 and
    9:00:00 + ``spread_seconds``, evenly, by ``operator`` (or the ``operators`` in turn)."""
    claim = claim_on(plan)
    class_session = session(plan, (9, 0), (10, 0))
    enrolments = [enrolment_of(claim)] + [EnrolmentFactory(plan=plan) for _ in range(size - 1)]
    for n, enrolment in enumerate(enrolments):
        step = spread_seconds * n // (size - 1)
        who = operators[n % len(operators)] if operators else operator
        attend(enrolment, class_session, operator=who, signed_in_at=at(9) + datetime.timedelta(seconds=step))
    return claim


def test_a_class_signed_in_within_59_seconds_by_one_operator_is_a_signal(plan, claim_on, institution_staff):
    claim = class_signed_in(plan, claim_on, institution_staff, spread_seconds=59)
    compute(claim)
    signal = RiskSignal.objects.get(claim=claim, code=SignalCode.CLASS_SIGNED_IN_AT_ONCE)
    [evidence] = signal.evidence["sessions"]
    assert evidence["trainees"] == 5
    assert evidence["operator"] == institution_staff.username
    assert (evidence["seconds"], evidence["date"], evidence["start"]) == (59, "2024-01-10", "09:00")
    assert institution_staff.username in str(describe(signal.code, signal.evidence))


def test_a_class_signed_in_over_a_full_minute_is_no_signal(plan, claim_on, institution_staff):
    claim = class_signed_in(plan, claim_on, institution_staff, spread_seconds=60)
    compute(claim)
    assert SignalCode.CLASS_SIGNED_IN_AT_ONCE not in codes(claim)


def test_four_trainees_or_two_operators_are_no_signal(plan, claim_on, institution_staff, institution):
    from accounts.models import Role
    from accounts.tests.factories import UserFactory

    small = class_signed_in(plan, claim_on, institution_staff, size=4, spread_seconds=10)
    colleague = UserFactory(role=Role.INSTITUTION, institution=institution)
    two = class_signed_in(
        TrainingPlanFactory(institution=institution),
        claim_on,
        None,
        spread_seconds=10,
        operators=[institution_staff, colleague],
    )
    compute(small, two)
    assert SignalCode.CLASS_SIGNED_IN_AT_ONCE not in codes(small)
    assert SignalCode.CLASS_SIGNED_IN_AT_ONCE not in codes(two)
    settings = RiskSettings.current()
    settings.sign_in_burst_min_trainees = 4
    settings.save()
    compute(small, two)
    assert SignalCode.CLASS_SIGNED_IN_AT_ONCE in codes(small)


def test_the_signals_are_computed_for_many_claims_in_a_fixed_number_of_queries(
    plan, claim_on, institution_staff, institution, django_assert_max_num_queries
):
    from risk import rules

    def world(n):
        claims = []
        for _ in range(n):
            p = TrainingPlanFactory(institution=institution)
            claims.append(class_signed_in(p, claim_on, institution_staff, spread_seconds=5))
        return SubsidyClaim.objects.filter(pk__in=[c.pk for c in claims])

    few, many = world(1), world(4)
    settings = RiskSettings.current()
    today = datetime.date(2024, 6, 1)
    for fn in (rules.class_signed_in_at_once, rules.overlapping_attendance):
        with django_assert_max_num_queries(6):
            found_few = fn(few, settings, today)
        with django_assert_max_num_queries(6):
            found_many = fn(many, settings, today)
        if fn is rules.class_signed_in_at_once:
            assert len(found_few) == 1 and len(found_many) == 4


def test_the_reviewer_sees_the_attendance_signal_in_chinese_on_the_claim_page(
    plan, claim_on, institution_staff, hangzhou_reviewer, client_of
):
    from django.urls import reverse

    claim = class_signed_in(plan, claim_on, institution_staff, spread_seconds=30)
    compute(claim)
    page = client_of(hangzhou_reviewer).get(reverse("admin:subsidies_subsidyclaim_change", args=[claim.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "全班一分钟内集中签到" in body  # the signal's label
    assert f"由 {institution_staff.username} 在 09:00:00 至 09:00:30 之间签到" in body  # its evidence
