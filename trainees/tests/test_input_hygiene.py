"""What people type into a trainee record, whichever door it comes in by, and what an
enrolment refusal may say about other institutions' classes."""

import pytest

from core.errors import ApplicationError
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from institutions.tests.factories import TrainingPlanFactory
from trainees.models import Trainee, TraineeCategory
from trainees.services import enrolment_create, trainee_create
from trainees.tests.factories import EnrolmentFactory

pytestmark = pytest.mark.django_db

RESIDENT_ID = generate_resident_id(area="330102", birth="19900101", sequence=7)


def _input(hangzhou, **overrides):
    data = {
        "resident_id": RESIDENT_ID,
        "name": "王小明",
        "phone": "13800138000",
        "category": TraineeCategory.PROFESSIONAL,
        "household_city": hangzhou.pk,
    }
    data.update(overrides)
    return data


def _post(api_client_of, institution_staff, data):
    return api_client_of(institution_staff).post("/api/v1/trainees/", data, format="json")


@pytest.mark.parametrize(
    "typed",
    ["王\u200b小明", "\u202e王小明", "王小明\u200f", "\ufeff王小\u200d明", " 王小明 \u2066"],
)
def test_invisible_and_direction_characters_are_stripped_from_a_name(
    api_client_of, institution_staff, hangzhou, typed
):
    response = _post(api_client_of, institution_staff, _input(hangzhou, name=typed))
    assert response.status_code == 201, response.content
    assert Trainee.objects.get(**blind_lookup(Trainee, "resident_id", RESIDENT_ID)).name == "王小明"


def test_a_name_of_only_invisible_characters_is_refused_as_empty(api_client_of, institution_staff, hangzhou):
    response = _post(api_client_of, institution_staff, _input(hangzhou, name="\u200b\u200c\u202e"))
    assert response.status_code == 400
    assert "name" in response.json()["detail"]
    assert not Trainee.objects.exists()


@pytest.mark.parametrize("typed", ["王\x00小明", "王\n小明", "王\t小明", "王\x1b[31m小明", "王\x7f小明"])
def test_control_characters_in_a_name_are_refused(api_client_of, institution_staff, hangzhou, typed):
    response = _post(api_client_of, institution_staff, _input(hangzhou, name=typed))
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert "name" in body["detail"]
    assert not Trainee.objects.exists()


@pytest.mark.parametrize("phone", ["=1+1", "+8613800138000", "@SUM(A1)", "-13800138000", "138abc", "1"])
def test_a_phone_number_must_be_digits(api_client_of, institution_staff, hangzhou, phone):
    response = _post(api_client_of, institution_staff, _input(hangzhou, phone=phone))
    assert response.status_code == 400, response.content
    assert "phone" in response.json()["detail"]
    assert "13800138000" in str(response.json()["detail"]["phone"])  # says what to type


@pytest.mark.parametrize("phone", ["13800138000", "0571-88888888", "0571 8888 8888", ""])
def test_ordinary_phone_numbers_are_accepted(api_client_of, institution_staff, hangzhou, phone):
    assert _post(api_client_of, institution_staff, _input(hangzhou, phone=phone)).status_code == 201


def test_the_service_strips_the_same_way_for_imports_and_the_admin(institution_staff, hangzhou):
    trainee = trainee_create(
        actor=institution_staff,
        resident_id=RESIDENT_ID,
        name="\u202e李\u200b四",
        category=TraineeCategory.PROFESSIONAL,
        household_city=hangzhou,
        school_name="浙江\u200b大学",
    )
    assert (trainee.name, trainee.school_name) == ("李四", "浙江大学")


def test_a_phone_that_could_be_a_formula_is_refused_and_never_stored_as_one(institution_staff, hangzhou):
    # The phone column holds ciphertext (issue 18), so the database can no longer check its
    # shape (trainees_trainee_phone_format is gone): validation refuses it, and whatever a
    # bypassing update writes is stored encrypted, never as text a spreadsheet would run.
    from django.core.exceptions import ValidationError
    from django.db import connection

    trainee = trainee_create(
        actor=institution_staff,
        resident_id=RESIDENT_ID,
        name="李四",
        category=TraineeCategory.PROFESSIONAL,
        household_city=hangzhou,
    )
    trainee.phone = "=HYPERLINK(1)"
    with pytest.raises(ValidationError) as exc:
        trainee.full_clean()
    assert [e.code for e in exc.value.error_dict["phone"]] == ["invalid_phone"]
    Trainee.objects.filter(pk=trainee.pk).update(phone="=HYPERLINK(1)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM trainees_trainee WHERE id = %s", [trainee.pk])
        [(stored,)] = cursor.fetchall()
    assert stored.startswith("v1$") and "HYPERLINK" not in stored


def test_a_conflict_with_another_institutions_class_does_not_name_it(
    api_client_of, institution, other_institution, institution_staff, trainee
):
    theirs = TrainingPlanFactory(institution=other_institution, title="竞争对手的秘密班级")
    EnrolmentFactory(plan=theirs, trainee=trainee)
    ours = TrainingPlanFactory(institution=institution)
    with pytest.raises(ApplicationError) as exc:
        enrolment_create(plan=ours, trainee=trainee, actor=institution_staff)
    assert exc.value.code == "overlapping_class"
    said = f"{exc.value.message} {exc.value.detail}"
    for secret in (theirs.title, str(theirs.pk), str(theirs.start_date), str(theirs.end_date)):
        assert secret not in said
    assert exc.value.detail is None

    response = api_client_of(institution_staff).post(
        "/api/v1/enrolments/", {"plan": ours.pk, "resident_id": trainee.resident_id}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "overlapping_class"
    assert theirs.title not in response.content.decode()
    assert str(theirs.start_date) not in response.content.decode()


def test_a_conflict_with_an_own_class_still_names_it(institution, institution_staff, trainee):
    mine = TrainingPlanFactory(institution=institution, title="本机构的另一个班")
    EnrolmentFactory(plan=mine, trainee=trainee)
    with pytest.raises(ApplicationError) as exc:
        enrolment_create(
            plan=TrainingPlanFactory(institution=institution), trainee=trainee, actor=institution_staff
        )
    assert mine.title in str(exc.value.message)
    assert exc.value.detail == {"plan": mine.pk}
