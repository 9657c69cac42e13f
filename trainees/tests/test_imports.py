"""Roster and hours imports with real .xlsx files, including broken ones."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from openpyxl import load_workbook

from core.errors import ApplicationError, NotPermitted
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from core.xlsx_import import ImportRejected, build_template, run_import
from institutions.models import PlanStatus
from institutions.tests.factories import TrainingPlanFactory
from trainees.imports import HoursImport, RosterImport
from trainees.models import CompletionResult, Enrolment, Trainee
from trainees.tests.factories import EnrolmentFactory, TraineeFactory
from trainees.tests.xlsx import xlsx_bytes

ROSTER_HEADER = [
    "身份证号码",
    "姓名",
    "手机号码",
    "人员类别",
    "户籍地",
    "常住地",
    "求职就业地",
    "毕业院校",
    "学校所在地",
    "毕业年份",
]


def header(spec, key):
    """The header the errors name: the column's header in the active language."""
    return str(spec.column(key).header)


def rid(n):
    return generate_resident_id(area="330102", birth="19900101", sequence=n)


def roster_row(n, name=None, category="在岗或拟从事数字技术工作的专业人员", city="杭州市"):
    return [rid(n), name or f"学员{n}", f"1380000{n:04d}", category, city, "", "", "", "", ""]


@pytest.fixture
def plan(institution, evaluator):
    return TrainingPlanFactory(institution=institution, evaluator=evaluator, class_size=10)


def roster_import(plan, actor, data):
    return run_import(
        RosterImport(), SimpleUploadedFile("roster.xlsx", data), ctx={"plan": plan, "actor": actor}
    )


def errors_of(exc):
    return [(e["row"], e["column"], e["message"]) for e in exc.value.detail["errors"]]


def test_roster_creates_trainees_and_enrols_them(plan, institution_staff, hangzhou, ningbo):
    data = xlsx_bytes(ROSTER_HEADER, [roster_row(1), roster_row(2, city="330200")])
    result = roster_import(plan, institution_staff, data)
    assert (result.rows, result.created, result.extra["enrolled"]) == (2, 2, 2)
    first = Trainee.objects.get(**blind_lookup(Trainee, "resident_id", rid(1)))
    assert first.household_city == hangzhou
    assert Trainee.objects.get(**blind_lookup(Trainee, "resident_id", rid(2))).household_city == ningbo
    assert set(Enrolment.objects.filter(plan=plan).values_list("trainee__resident_id", flat=True)) == {
        rid(1),
        rid(2),
    }


def test_reimporting_the_same_roster_creates_no_duplicates(plan, institution_staff, hangzhou):
    data = xlsx_bytes(ROSTER_HEADER, [roster_row(1), roster_row(2)])
    roster_import(plan, institution_staff, data)
    again = roster_import(plan, institution_staff, data)
    assert (again.created, again.updated, again.extra["enrolled"]) == (0, 0, 0)
    assert Trainee.objects.count() == 2
    assert Enrolment.objects.filter(plan=plan).count() == 2


def test_existing_trainee_is_updated_not_duplicated(plan, institution_staff, hangzhou, ningbo):
    TraineeFactory(resident_id=rid(1), name="学员1", household_city=hangzhou, phone="")
    result = roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, [roster_row(1, city="宁波")]))
    assert (result.created, result.updated) == (0, 1)
    trainee = Trainee.objects.get(**blind_lookup(Trainee, "resident_id", rid(1)))
    assert trainee.household_city == ningbo
    assert trainee.phone == "13800000001"


def test_every_row_error_is_reported_and_nothing_is_written(plan, institution_staff, hangzhou):
    bad_check_digit = rid(3)[:-1] + ("0" if rid(3)[-1] != "0" else "1")
    rows = [
        roster_row(1),
        [rid(2), "", "", "在岗或拟从事数字技术工作的专业人员", "杭州市", "", "", "", "", ""],  # no name
        [bad_check_digit, "学员3", "", "在岗或拟从事数字技术工作的专业人员", "杭州市", "", "", "", "", ""],
        [rid(4), "学员4", "", "宇航员", "火星市", "", "", "", "", ""],  # unknown category and city
        roster_row(1),  # duplicate of row 2
        [rid(6), "学员6", "", "毕业年度毕业生", "杭州市", "", "", "", "", ""],  # graduate without school
    ]
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, rows))
    assert exc.value.code == "import_invalid"
    located = {(row, column) for row, column, _ in errors_of(exc)}
    assert located == {
        (3, header(RosterImport(), "name")),
        (4, header(RosterImport(), "resident_id")),
        (5, header(RosterImport(), "category")),
        (5, header(RosterImport(), "household_city")),
        (6, header(RosterImport(), "resident_id")),
        (7, header(RosterImport(), "school_city")),
        (7, header(RosterImport(), "graduation_year")),
    }
    assert all(message for _, _, message in errors_of(exc))
    assert not Trainee.objects.exists()
    assert not Enrolment.objects.exists()


def test_a_phone_that_is_not_a_phone_number_is_refused_in_the_roster(plan, institution_staff, hangzhou):
    # The phone is encrypted at rest, so no database check reads its shape: the import does.
    bad = roster_row(1)
    bad[2] = "138abc"  # letters (a formula would be read as a blank cell)
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, [bad, roster_row(2)]))
    assert [(row, column) for row, column, _ in errors_of(exc)] == [(2, header(RosterImport(), "phone"))]
    assert not Trainee.objects.exists()


def test_id_number_stored_as_a_number_is_refused_with_a_clear_message(plan, institution_staff, hangzhou):
    row = roster_row(1)
    row[0] = 3.30102199001011e17  # what Excel makes of an ID typed into a General cell
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, [row]))
    ((number, column, message),) = errors_of(exc)
    assert (number, column) == (2, header(RosterImport(), "resident_id"))
    assert "3.30102199001011e+17" in message
    assert not Trainee.objects.exists()


def test_missing_and_renamed_columns_are_listed(plan, institution_staff, hangzhou):
    renamed = [h for h in ROSTER_HEADER if h != "户籍地"]
    renamed[1] = "学员姓名"
    rows = [[c for i, c in enumerate(roster_row(1)) if i != 4]]
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(renamed, rows))
    assert exc.value.code == "columns_invalid"
    assert {(row, column) for row, column, _ in errors_of(exc)} == {
        (1, "学员姓名"),
        (1, header(RosterImport(), "name")),
        (1, header(RosterImport(), "household_city")),
    }
    assert not Trainee.objects.exists()


def test_a_text_file_renamed_xlsx_is_not_a_workbook(plan, institution_staff):
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, "身份证号码,姓名\n330102199001010011,张三\n".encode())
    assert exc.value.code == "not_an_xlsx"


def test_a_zip_that_is_not_a_workbook_is_refused(plan, institution_staff):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not excel")
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, buffer.getvalue())
    assert exc.value.code == "not_an_xlsx"


def test_oversize_file_is_refused_before_reading(plan, institution_staff, hangzhou):
    data = xlsx_bytes(ROSTER_HEADER, [roster_row(1)])
    with override_settings(XLSX_IMPORT_MAX_BYTES=len(data) - 1), pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, data)
    assert exc.value.code == "file_too_large"
    assert not Trainee.objects.exists()


def test_too_many_rows_are_refused(plan, institution_staff, hangzhou):
    data = xlsx_bytes(ROSTER_HEADER, [roster_row(n) for n in range(1, 4)])
    with override_settings(XLSX_IMPORT_MAX_ROWS=2), pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, data)
    assert exc.value.code == "too_many_rows"


def test_empty_file_is_refused(plan, institution_staff):
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, []))
    assert exc.value.code == "import_invalid"


def test_roster_beyond_class_size_writes_nothing(institution, institution_staff, hangzhou):
    plan = TrainingPlanFactory(institution=institution, class_size=2)
    with pytest.raises(ImportRejected) as exc:
        roster_import(
            plan, institution_staff, xlsx_bytes(ROSTER_HEADER, [roster_row(n) for n in range(1, 4)])
        )
    assert [(row, column) for row, column, _ in errors_of(exc)] == [(4, "")]
    assert not Trainee.objects.exists()


def test_roster_refuses_a_trainee_in_an_overlapping_class(
    plan, institution_staff, hangzhou, other_institution
):
    trainee = TraineeFactory(resident_id=rid(1), name="学员1", household_city=hangzhou)
    EnrolmentFactory(trainee=trainee, plan=TrainingPlanFactory(institution=other_institution))
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, [roster_row(1), roster_row(2)]))
    assert [(row, column) for row, column, _ in errors_of(exc)] == [
        (2, header(RosterImport(), "resident_id"))
    ]
    assert Trainee.objects.count() == 1


def test_roster_refuses_a_resident_id_registered_under_another_name(plan, institution_staff, hangzhou):
    TraineeFactory(resident_id=rid(1), name="李四", household_city=hangzhou)
    with pytest.raises(ImportRejected) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, [roster_row(1, name="张三")]))
    assert [(row, column) for row, column, _ in errors_of(exc)] == [(2, header(RosterImport(), "name"))]


def test_roster_into_an_unaccepted_plan_is_refused(institution, institution_staff, hangzhou):
    plan = TrainingPlanFactory(institution=institution, status=PlanStatus.FILED)
    with pytest.raises(ApplicationError) as exc:
        roster_import(plan, institution_staff, xlsx_bytes(ROSTER_HEADER, [roster_row(1)]))
    assert exc.value.code == "plan_not_accepted"
    assert not Trainee.objects.exists()


def test_other_institution_cannot_import_into_our_class(plan, other_institution, hangzhou):
    from accounts.models import Role
    from accounts.tests.factories import UserFactory

    intruder = UserFactory(role=Role.INSTITUTION, institution=other_institution)
    with pytest.raises(NotPermitted):
        roster_import(plan, intruder, xlsx_bytes(ROSTER_HEADER, [roster_row(1)]))


def test_template_has_the_header_and_text_formatted_id_column(hangzhou):
    workbook = load_workbook(io.BytesIO(build_template(RosterImport())))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == [str(c.header) for c in RosterImport.columns]
    assert sheet["A2"].number_format == "@"


def test_a_filled_in_template_imports(plan, institution_staff, hangzhou):
    workbook = load_workbook(io.BytesIO(build_template(RosterImport())))
    sheet = workbook.worksheets[0]
    for col, value in enumerate(roster_row(1), start=1):
        sheet.cell(row=2, column=col, value=value or None)
    out = io.BytesIO()
    workbook.save(out)
    assert roster_import(plan, institution_staff, out.getvalue()).created == 1


HOURS_HEADER = ["身份证号码", "姓名", "线上学时", "线下学时", "结业考核", "结业考核日期"]


def hours_import(plan, actor, rows):
    return run_import(HoursImport(), xlsx_bytes(HOURS_HEADER, rows), ctx={"plan": plan, "actor": actor})


@pytest.fixture
def enrolled(plan):
    return [
        EnrolmentFactory(
            plan=plan,
            trainee=TraineeFactory(resident_id=rid(n), name=f"学员{n}"),
            hours_online=0,
            hours_offline=0,
            completion_result=CompletionResult.PENDING,
            completion_date=None,
        )
        for n in (1, 2)
    ]


def test_hours_and_completion_results_are_recorded_and_reimport_changes_nothing(
    plan, enrolled, institution_staff
):
    rows = [
        [rid(1), "学员1", 40, 40, "合格", "2024-03-29"],
        [rid(2), "学员2", 20, 35.5, "不合格", plan.end_date],
    ]
    assert hours_import(plan, institution_staff, rows).updated == 2
    first, second = (Enrolment.objects.get(pk=e.pk) for e in enrolled)
    assert (first.total_hours, first.completion_result) == (Decimal("80"), CompletionResult.PASSED)
    assert (second.hours_offline, second.completion_result) == (Decimal("35.5"), CompletionResult.FAILED)
    again = hours_import(plan, institution_staff, rows)
    assert (again.updated, again.unchanged) == (0, 2)


def test_hours_errors_are_reported_for_every_row(plan, enrolled, institution_staff):
    rows = [
        [rid(1), "学员1", 41, 40, "合格", "2024-03-29"],  # more than the plan
        [rid(2), "学员2", 40, 40, "合格", ""],  # result without date
        [rid(3), "学员3", 40, 40, "", ""],  # not enrolled
        [rid(1), "学员1", "四十", 40, "", ""],  # duplicate, and not a number
    ]
    with pytest.raises(ImportRejected) as exc:
        hours_import(plan, institution_staff, rows)
    assert {(row, column) for row, column, _ in errors_of(exc)} == {
        (2, header(HoursImport(), "hours_online")),
        (3, header(HoursImport(), "completion_date")),
        (4, header(RosterImport(), "resident_id")),
        (5, header(HoursImport(), "hours_online")),
    }
    assert all(e.hours_online == 0 for e in Enrolment.objects.all())
