"""The attendance import (learning log): Excel and CSV through the one import machinery."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from core.xlsx_import import ImportRejected, run_import
from institutions.tests.factories import TrainingPlanFactory
from trainees.imports import AttendanceImport
from trainees.models import Attendance, AttendanceSource, Enrolment, Trainee
from trainees.services import session_create
from trainees.tests.factories import EnrolmentFactory, TraineeFactory
from trainees.tests.xlsx import xlsx_bytes

HEADER = ["身份证号码", "姓名", "课次日期", "开始时间", "登录时间", "退出时间", "学习时长（分钟）"]


def rid(n):
    return generate_resident_id(area="330102", birth="19910101", sequence=n)


@pytest.fixture
def plan(institution, evaluator):
    return TrainingPlanFactory(
        institution=institution, evaluator=evaluator, hours_online=Decimal("2"), hours_offline=Decimal("1")
    )


@pytest.fixture
def world(plan, institution_staff):
    trainees = [TraineeFactory(resident_id=rid(n), name=f"学员{n}") for n in (1, 2)]
    for t in trainees:
        EnrolmentFactory(
            plan=plan,
            trainee=t,
            hours_online=0,
            hours_offline=0,
            completion_result="pending",
            completion_date=None,
        )
    sessions = [
        session_create(
            plan=plan,
            date=datetime.date(2024, 1, 10),
            starts_at=datetime.time(h, 0),
            ends_at=datetime.time(h + 1, 0),
            mode=mode,
            topic="课",
            venue="平台" if mode == "online" else "教室",
            actor=institution_staff,
        )
        for h, mode in ((9, "online"), (10, "online"), (14, "offline"))
    ]
    return trainees, sessions


def csv_bytes(rows, *, encoding="utf-8-sig"):
    lines = [",".join(HEADER)] + [",".join(str(c) for c in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def do_import(plan, actor, data, name):
    return run_import(AttendanceImport(), SimpleUploadedFile(name, data), ctx={"plan": plan, "actor": actor})


def errors_of(exc):
    return [(e["row"], e["column"], e["message"]) for e in exc.value.detail["errors"]]


GOOD = [
    [rid(1), "学员1", "2024-01-10", "09:00", "2024-01-10 08:58:00", "2024-01-10 10:00:00", ""],
    [rid(1), "学员1", "2024-01-10", "10:00", "", "", "60"],
    [rid(2), "学员2", "2024/01/10", "9:00", "2024-01-10 09:20", "2024-01-10 09:50", ""],
    [rid(2), "", "2024-01-10", "14:00", "", "", "45"],
]


@pytest.mark.parametrize("kind", ["csv", "csv-gbk", "xlsx"])
def test_a_learning_log_sets_the_trainees_hours(plan, world, institution_staff, kind):
    if kind == "xlsx":
        data, name = xlsx_bytes(HEADER, GOOD), "log.xlsx"
    else:
        data, name = csv_bytes(GOOD, encoding="gb18030" if kind == "csv-gbk" else "utf-8-sig"), "log.csv"
    result = do_import(plan, institution_staff, data, name)
    assert (result.rows, result.created) == (4, 4)
    hours = {
        e.trainee.resident_id: (e.hours_online, e.hours_offline)
        for e in Enrolment.objects.filter(plan=plan).select_related("trainee")
    }
    assert hours == {rid(1): (Decimal("2.0"), Decimal("0.0")), rid(2): (Decimal("0.5"), Decimal("0.7"))}
    sources = set(Attendance.objects.values_list("session__mode", "source"))
    assert sources == {("online", AttendanceSource.PLATFORM), ("offline", AttendanceSource.IMPORT)}
    # The same file again changes nothing.
    again = do_import(plan, institution_staff, data, name)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Attendance.objects.count() == 4


def test_a_corrected_log_is_recorded_as_corrections_keeping_the_originals(plan, world, institution_staff):
    do_import(plan, institution_staff, csv_bytes(GOOD), "log.csv")
    fixed = [row[:] for row in GOOD]
    fixed[3][6] = "60"
    result = do_import(plan, institution_staff, csv_bytes(fixed), "log.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    correction = Attendance.objects.get(corrects__isnull=False)
    assert (correction.corrects.minutes, correction.minutes) == (45, 60)
    assert correction.reason
    assert Enrolment.objects.get(
        **blind_lookup(Trainee, "resident_id", rid(2), prefix="trainee__")
    ).hours_offline == Decimal("1.0")


def test_an_attendance_file_with_every_kind_of_row_error_imports_nothing(plan, world, institution_staff):
    stranger = TraineeFactory(resident_id=rid(9))
    rows = [
        GOOD[0],
        ["330102199101010000", "学员1", "2024-01-10", "10:00", "", "", "60"],  # bad check digit
        [stranger.resident_id, "", "2024-01-10", "10:00", "", "", "60"],  # not enrolled
        [rid(1), "张冒名", "2024-01-10", "14:00", "", "", "30"],  # another name
        [rid(2), "", "2024-01-11", "09:00", "", "", "30"],  # no such session
        [rid(2), "", "2024-01-10", "10:00", "", "", "61"],  # more than the session
        [rid(2), "", "2024-01-10", "14:00", "", "", ""],  # no minutes and no times
        [rid(2), "", "2024-01-10", "09:00", "2024-01-10 09:30", "2024-01-10 09:10", ""],  # out before in
        [rid(1), "学员1", "2024-01-10", "09:00", "", "", "30"],  # duplicates row 2
        [rid(1), "", "10th Jan", "9点", "昨天", "", "-5"],  # unparseable cells
    ]
    with pytest.raises(ImportRejected) as exc:
        do_import(plan, institution_staff, csv_bytes(rows), "log.csv")
    spec = AttendanceImport()
    h = {
        k: str(spec.column(k).header)
        for k in (
            "resident_id",
            "name",
            "session_date",
            "session_start",
            "signed_in_at",
            "signed_out_at",
            "minutes",
        )
    }
    got = errors_of(exc)
    rows_with_errors = {r for r, _c, _m in got}
    assert rows_with_errors == set(range(3, 12))
    assert (3, h["resident_id"]) in {(r, c) for r, c, _m in got}
    assert any(
        r == 4 and c == h["resident_id"] and "未" in m or r == 4 and "Not enrolled" in m for r, c, m in got
    )
    assert any(r == 5 and c == h["name"] for r, c, _m in got)
    assert any(r == 6 and c == h["session_date"] for r, c, _m in got)
    assert any(r == 7 and c == h["minutes"] for r, c, _m in got)
    assert any(r == 8 and c == h["minutes"] for r, c, _m in got)
    assert any(r == 9 and c == h["signed_out_at"] for r, c, _m in got)
    assert any(r == 10 and c == h["resident_id"] for r, c, _m in got)
    assert {c for r, c, _m in got if r == 11} >= {
        h["session_date"],
        h["session_start"],
        h["signed_in_at"],
        h["minutes"],
    }
    assert not Attendance.objects.exists()


def test_files_that_are_not_a_log_are_refused_whole(plan, world, institution_staff):
    with pytest.raises(ImportRejected) as exc:
        do_import(plan, institution_staff, b"\x00\x01binary", "log.csv")
    assert exc.value.code == "not_a_csv"
    with pytest.raises(ImportRejected) as exc:
        do_import(plan, institution_staff, "身份证号码,姓名,备注\r\n".encode(), "log.csv")
    assert exc.value.code == "columns_invalid"
    with pytest.raises(ImportRejected) as exc:
        do_import(plan, institution_staff, csv_bytes(GOOD), "log.xlsx")  # a CSV renamed .xlsx
    assert exc.value.code == "not_an_xlsx"
    spec = AttendanceImport()
    spec.max_rows = 3
    with pytest.raises(ImportRejected) as exc:
        run_import(
            spec,
            SimpleUploadedFile("log.csv", csv_bytes(GOOD)),
            ctx={"plan": plan, "actor": institution_staff},
        )
    assert exc.value.code == "too_many_rows"
    assert not Attendance.objects.exists()
