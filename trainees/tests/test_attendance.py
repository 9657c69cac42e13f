"""Training on the record: sessions, attendance, hours derived from it, corrections."""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.errors import ApplicationError, Conflict, NotPermitted
from institutions.tests.factories import TrainingPlanFactory
from trainees.models import Attendance, AttendanceSource, CompletionResult, Enrolment, SessionMode
from trainees.selectors import (
    attendance_for_trainee,
    attendance_history,
    attendance_visible_to,
    overlapping_attendance,
    sessions_signed_in_in_one_minute,
)
from trainees.services import (
    attendance_correct,
    attendance_record,
    enrolment_record_completion,
    enrolment_record_hours,
    session_create,
)
from trainees.tests.factories import EnrolmentFactory

DAY = datetime.date(2024, 1, 10)


def at(hour, minute=0, day=DAY):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def plan(institution, evaluator):
    # Two hours online and two offline: two sessions of each mode fill it exactly.
    return TrainingPlanFactory(
        institution=institution, evaluator=evaluator, hours_online=Decimal("2"), hours_offline=Decimal("2")
    )


@pytest.fixture
def enrolment(plan, trainee):
    return EnrolmentFactory(
        plan=plan,
        trainee=trainee,
        hours_online=0,
        hours_offline=0,
        completion_result=CompletionResult.PENDING,
        completion_date=None,
    )


def make_session(plan, actor, *, hour, mode, day=DAY):
    return session_create(
        plan=plan,
        date=day,
        starts_at=datetime.time(hour, 0),
        ends_at=datetime.time(hour + 1, 0),
        mode=mode,
        topic=f"第{hour}讲",
        venue="浙江数字学院平台" if mode == SessionMode.ONLINE else "201教室",
        actor=actor,
    )


def test_hours_are_derived_from_attendance_per_mode(plan, enrolment, institution_staff):
    online = make_session(plan, institution_staff, hour=9, mode=SessionMode.ONLINE)
    offline = make_session(plan, institution_staff, hour=14, mode=SessionMode.OFFLINE)
    attendance_record(enrolment=enrolment, session=online, minutes=60, actor=institution_staff)
    # Minutes from sign-in and sign-out count only inside the session's times.
    attendance_record(
        enrolment=enrolment,
        session=offline,
        signed_in_at=at(13, 40),
        signed_out_at=at(14, 45),
        actor=institution_staff,
    )
    enrolment.refresh_from_db()
    assert (enrolment.hours_online, enrolment.hours_offline) == (Decimal("1.0"), Decimal("0.7"))
    record = Attendance.objects.get(session=offline)
    assert (record.minutes, record.source, record.operator) == (
        45,
        AttendanceSource.MANUAL,
        institution_staff,
    )


def test_the_completion_test_refuses_a_trainee_short_of_the_plans_hours(plan, enrolment, institution_staff):
    sessions = [
        make_session(plan, institution_staff, hour=h, mode=m)
        for h, m in ((8, "online"), (9, "online"), (14, "offline"), (15, "offline"))
    ]
    for session in sessions[:3]:
        attendance_record(enrolment=enrolment, session=session, minutes=60, actor=institution_staff)
    attendance_record(enrolment=enrolment, session=sessions[3], minutes=59, actor=institution_staff)

    with pytest.raises(ApplicationError) as exc:
        enrolment_record_completion(
            enrolment=enrolment, passed=True, on=plan.end_date, actor=institution_staff
        )
    assert exc.value.code == "hours_incomplete"
    assert "1.9" in str(exc.value.message)
    enrolment.refresh_from_db()
    assert enrolment.completion_result == CompletionResult.PENDING
    # A fail may be recorded whatever the hours.
    failed_ok = Enrolment.objects.get(pk=enrolment.pk)
    assert failed_ok.hours_offline == Decimal("1.9")

    last = Attendance.objects.get(enrolment=enrolment, session=sessions[3])
    attendance_correct(record=last, minutes=60, reason="签退漏记，补录", actor=institution_staff)
    passed = enrolment_record_completion(
        enrolment=enrolment, passed=True, on=plan.end_date, actor=institution_staff
    )
    assert passed.completion_result == CompletionResult.PASSED


def test_a_correction_keeps_the_original_and_names_it(plan, enrolment, institution_staff):
    session = make_session(plan, institution_staff, hour=9, mode=SessionMode.ONLINE)
    original = attendance_record(enrolment=enrolment, session=session, minutes=20, actor=institution_staff)
    correction = attendance_correct(
        record=original, minutes=55, reason="平台数据延迟同步", actor=institution_staff
    )

    original.refresh_from_db()
    assert original.minutes == 20  # untouched
    assert (correction.corrects, correction.reason, correction.operator) == (
        original,
        "平台数据延迟同步",
        institution_staff,
    )
    assert list(Attendance.objects.current().filter(enrolment=enrolment)) == [correction]
    assert attendance_history(record=original) == [original, correction]
    enrolment.refresh_from_db()
    assert enrolment.hours_online == Decimal("0.9")

    with pytest.raises(Conflict) as exc:
        attendance_correct(record=original, minutes=60, reason="再改", actor=institution_staff)
    assert exc.value.code == "already_corrected"
    with pytest.raises(ApplicationError) as exc:
        attendance_correct(record=correction, minutes=60, reason="  ", actor=institution_staff)
    assert exc.value.code == "reason_required"
    with pytest.raises(Conflict) as exc:
        attendance_record(enrolment=enrolment, session=session, minutes=60, actor=institution_staff)
    assert exc.value.code == "attendance_exists"


def test_attendance_is_never_edited_in_place(plan, enrolment, institution_staff):
    session = make_session(plan, institution_staff, hour=9, mode=SessionMode.ONLINE)
    record = attendance_record(enrolment=enrolment, session=session, minutes=20, actor=institution_staff)
    record.minutes = 60
    with pytest.raises(TypeError):
        record.save()
    with pytest.raises(TypeError):
        Attendance.objects.filter(pk=record.pk).update(minutes=60)
    with pytest.raises(TypeError):
        Attendance.objects.filter(pk=record.pk).delete()
    # The database refuses too, whoever asks.
    for sql in (
        "UPDATE trainees_attendance SET minutes = 60 WHERE id = %s",
        "DELETE FROM trainees_attendance WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql, [record.pk])
    assert Attendance.objects.get(pk=record.pk).minutes == 20


def test_bad_attendance_is_refused_with_field_errors(plan, enrolment, institution_staff, other_institution):
    session = make_session(plan, institution_staff, hour=9, mode=SessionMode.ONLINE)
    with pytest.raises(ApplicationError) as exc:
        attendance_record(enrolment=enrolment, session=session, minutes=61, actor=institution_staff)
    assert exc.value.code == "invalid_attendance" and "minutes" in exc.value.detail
    with pytest.raises(ApplicationError) as exc:
        attendance_record(
            enrolment=enrolment,
            session=session,
            signed_in_at=at(10),
            signed_out_at=at(9),
            actor=institution_staff,
        )
    assert "signed_out_at" in exc.value.detail
    other_session = make_session(
        TrainingPlanFactory(institution=plan.institution), institution_staff, hour=9, mode="online"
    )
    with pytest.raises(ApplicationError) as exc:
        attendance_record(enrolment=enrolment, session=other_session, minutes=5, actor=institution_staff)
    assert exc.value.code == "wrong_session"
    from accounts.tests.factories import UserFactory

    stranger = UserFactory(role="institution", institution=other_institution)
    with pytest.raises(NotPermitted):
        attendance_record(enrolment=enrolment, session=session, minutes=5, actor=stranger)
    assert not Attendance.objects.exists()


def test_a_session_outside_the_class_dates_is_refused(plan, institution_staff):
    with pytest.raises(ApplicationError) as exc:
        make_session(
            plan, institution_staff, hour=9, mode="online", day=plan.end_date + datetime.timedelta(days=1)
        )
    assert exc.value.code == "invalid_session" and "date" in exc.value.detail


def test_a_total_typed_in_is_kept_as_a_record_that_makes_up_the_difference(
    plan, enrolment, institution_staff
):
    session = make_session(plan, institution_staff, hour=9, mode=SessionMode.ONLINE)
    attendance_record(enrolment=enrolment, session=session, minutes=60, actor=institution_staff)
    enrolment_record_hours(
        enrolment=enrolment, hours_online=Decimal("2"), hours_offline=Decimal("1.5"), actor=institution_staff
    )
    enrolment.refresh_from_db()
    assert (enrolment.hours_online, enrolment.hours_offline) == (Decimal("2.0"), Decimal("1.5"))
    totals = Attendance.objects.current().filter(enrolment=enrolment, source=AttendanceSource.TOTAL)
    assert sorted(totals.values_list("mode", "minutes")) == [("offline", 90), ("online", 60)]
    # Typing a total again corrects the total record; the first one stays on the record.
    enrolment_record_hours(
        enrolment=enrolment, hours_online=Decimal("1"), hours_offline=Decimal("1.5"), actor=institution_staff
    )
    enrolment.refresh_from_db()
    assert enrolment.hours_online == Decimal("1.0")
    assert Attendance.objects.filter(enrolment=enrolment, source=AttendanceSource.TOTAL).count() == 3
    with pytest.raises(ApplicationError) as exc:
        enrolment_record_hours(
            enrolment=enrolment, hours_online=Decimal("0.5"), hours_offline=0, actor=institution_staff
        )
    assert exc.value.code == "hours_below_attendance"


def test_existing_totals_are_carried_over_as_marked_opening_records(plan, trainee):
    migration = __import__("importlib").import_module(
        "trainees.migrations.0005_attendance_guards_and_opening_totals"
    )
    enrolment = EnrolmentFactory(
        plan=plan, trainee=trainee, hours_online=Decimal("2"), hours_offline=Decimal("1.5")
    )
    migration.carry_over_totals(apps, None)
    opening = Attendance.objects.filter(enrolment=enrolment)
    assert sorted(opening.values_list("mode", "minutes", "source")) == [
        ("offline", 90, AttendanceSource.OPENING),
        ("online", 120, AttendanceSource.OPENING),
    ]
    assert all(r.session_id is None for r in opening)
    from trainees.services import refresh_hours

    refreshed = refresh_hours(enrolment_ids=[enrolment.pk])[enrolment.pk]
    assert (refreshed.hours_online, refreshed.hours_offline) == (Decimal("2.0"), Decimal("1.5"))


def test_the_trainee_and_the_claims_bureau_read_the_attendance_others_do_not(
    plan, enrolment, institution_staff, trainee, ningbo_reviewer, hangzhou_reviewer
):
    session = make_session(plan, institution_staff, hour=9, mode=SessionMode.ONLINE)
    record = attendance_record(enrolment=enrolment, session=session, minutes=60, actor=institution_staff)
    assert list(attendance_for_trainee(trainee=trainee)) == [record]
    assert list(attendance_visible_to(trainee.user)) == [record]
    assert list(attendance_visible_to(hangzhou_reviewer)) == [record]  # the class is in Hangzhou
    assert list(attendance_visible_to(ningbo_reviewer)) == []


def test_risk_selectors_find_overlapping_attendance_and_a_class_signed_in_in_one_minute(
    plan, institution_staff, institution
):
    enrolments = [
        EnrolmentFactory(
            plan=plan, hours_online=0, hours_offline=0, completion_result="pending", completion_date=None
        )
        for _ in range(5)
    ]
    session = make_session(plan, institution_staff, hour=9, mode=SessionMode.ONLINE)
    for n, enrolment in enumerate(enrolments):
        attendance_record(
            enrolment=enrolment,
            session=session,
            signed_in_at=at(9, 0) + datetime.timedelta(seconds=n * 5),
            signed_out_at=at(10),
            actor=institution_staff,
        )
    assert sessions_signed_in_in_one_minute(min_trainees=5) == [
        {
            "session_id": session.pk,
            "operator_id": institution_staff.pk,
            "count": 5,
            "first": at(9, 0),
            "last": at(9, 0) + datetime.timedelta(seconds=20),
        }
    ]
    # The first trainee also attends another class's session at the same time.
    other_plan = TrainingPlanFactory(institution=institution)
    other = EnrolmentFactory(
        plan=other_plan,
        trainee=enrolments[0].trainee,
        hours_online=0,
        hours_offline=0,
        completion_result="pending",
        completion_date=None,
    )
    clash = session_create(
        plan=other_plan,
        date=DAY,
        starts_at=datetime.time(9, 30),
        ends_at=datetime.time(11, 0),
        mode="offline",
        topic="实训",
        venue="实训室",
        actor=institution_staff,
    )
    second = attendance_record(enrolment=other, session=clash, minutes=30, actor=institution_staff)
    pairs = overlapping_attendance()
    assert len(pairs) == 1 and pairs[0]["second"] == second.pk
    assert pairs[0]["trainee_id"] == enrolments[0].trainee_id
