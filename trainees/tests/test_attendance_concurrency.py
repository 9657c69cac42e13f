"""Attendance under real concurrency, on PostgreSQL: clerks (and an import) writing the same
trainee's attendance at the same instant. Each thread has its own connection and waits at a
barrier, so the writes really overlap."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection

from core.errors import ApplicationError
from core.xlsx_import import run_import
from institutions.tests.factories import TrainingPlanFactory
from trainees.imports import AttendanceImport
from trainees.models import Attendance, Enrolment
from trainees.services import attendance_correct, attendance_record, session_create
from trainees.tests.factories import EnrolmentFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS = 6


def run_at_once(calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", call())
        except ApplicationError as exc:
            outcomes[index] = (exc.code, exc)
        except Exception as exc:  # anything else (an IntegrityError: a 500) is a bug
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(o is not None for o in outcomes), "a thread did not finish"
    return outcomes


@pytest.fixture
def setting(institution, evaluator, institution_staff, trainee):
    plan = TrainingPlanFactory(
        institution=institution, evaluator=evaluator, hours_online=Decimal("1"), hours_offline=Decimal("0")
    )
    session = session_create(
        plan=plan,
        date=datetime.date(2024, 1, 10),
        starts_at=datetime.time(9),
        ends_at=datetime.time(10),
        mode="online",
        topic="导论",
        venue="平台",
        actor=institution_staff,
    )
    enrolment = EnrolmentFactory(
        plan=plan,
        trainee=trainee,
        hours_online=0,
        hours_offline=0,
        completion_result="pending",
        completion_date=None,
    )
    return plan, session, enrolment


def test_simultaneous_entries_of_one_session_leave_one_record(setting, institution_staff):
    _plan, session, enrolment = setting
    outcomes = run_at_once(
        [
            (
                lambda m=m: attendance_record(
                    enrolment=enrolment, session=session, minutes=m, actor=institution_staff
                )
            )
            for m in range(50, 50 + THREADS)
        ]
    )
    assert [o for o in outcomes if o[0] == "error"] == []
    assert sorted(o[0] for o in outcomes) == ["attendance_exists"] * (THREADS - 1) + ["ok"]
    record = Attendance.objects.get()
    assert Enrolment.objects.get(pk=enrolment.pk).hours_online == Decimal(record.minutes // 6) / 10


def test_simultaneous_corrections_of_one_record_leave_one_correction(setting, institution_staff):
    _plan, session, enrolment = setting
    original = attendance_record(enrolment=enrolment, session=session, minutes=30, actor=institution_staff)
    outcomes = run_at_once(
        [
            (
                lambda m=m: attendance_correct(
                    record=original, minutes=m, reason=f"更正{m}", actor=institution_staff
                )
            )
            for m in range(50, 50 + THREADS)
        ]
    )
    assert [o for o in outcomes if o[0] == "error"] == []
    assert sorted(o[0] for o in outcomes) == ["already_corrected"] * (THREADS - 1) + ["ok"]
    assert Attendance.objects.filter(corrects=original).count() == 1


def test_an_import_and_a_clerk_at_the_same_instant_leave_one_original(setting, institution_staff, trainee):
    plan, session, enrolment = setting
    log = f"身份证号码,课次日期,开始时间,学习时长（分钟）\r\n{trainee.resident_id},2024-01-10,09:00,60\r\n".encode()
    outcomes = run_at_once(
        [
            lambda: run_import(AttendanceImport(), log, ctx={"plan": plan, "actor": institution_staff}),
            lambda: attendance_record(
                enrolment=enrolment, session=session, minutes=40, actor=institution_staff
            ),
        ]
    )
    assert [o for o in outcomes if o[0] == "error"] == []
    # Whoever came second saw the first: the import records a correction, or the clerk is
    # told the session is recorded already.
    assert Attendance.objects.filter(session=session, corrects__isnull=True).count() == 1
    current = Attendance.objects.current().get(session=session)
    assert Enrolment.objects.get(pk=enrolment.pk).hours_online == Decimal(current.minutes // 6) / 10
