"""Issue 18, "Done when": identity numbers, phones and accounts are encrypted at rest wherever
they are stored, found and kept unique through their blind indexes, and a key rotation on
the demo data leaves every value readable once the old key is gone."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from audit.services import audit_verify
from audit.tests.conftest import write_keys
from core import crypto
from core.errors import Conflict
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from core.pii_rotation import encrypted_columns, pii_key_usage
from portal.models import ActivationGuard, CodePurpose, OneTimeCode
from subsidies.models import ExternalSubsidyRecord, SubsidyClaim
from subsidies.tests.test_claim_concurrency import run_at_once
from trainees.models import Application, Trainee
from trainees.services import trainee_create
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db

# Every column that holds a resident ID, phone or account number of a person.
IDENTITY_COLUMNS = {
    "trainees.trainee.resident_id",
    "trainees.trainee.phone",
    "trainees.trainee.bank_account",
    "trainees.application.resident_id",
    "trainees.application.phone",
    "subsidies.subsidyclaim.payee_account",
    "subsidies.externalsubsidyrecord.resident_id",
    "payments.paymentitem.payee_resident_id",
    "payments.paymentitem.payee_account",
    "portal.onetimecode.resident_id",
    "portal.activationguard.resident_id",
}


@pytest.fixture
def demo_keys(tmp_path, settings):
    path = tmp_path / "pii-keys.json"

    def use(active, **keys):
        write_keys(path, active, keys)
        settings.PII_KEYS, settings.PII_KEY_FILE = "", str(path)  # re-read through setting_changed

    use("demo1", demo1=b"1" * 16)
    return use


def raw_rows(table: str, columns: list[str]) -> list[tuple]:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(qn(c) for c in columns)} FROM {qn(table)}")  # noqa: S608
        return cursor.fetchall()


def identity_values() -> dict[str, set[str]]:
    """Every identity value as the application reads it (decrypted), per column."""
    values = {}
    for model, field in encrypted_columns():
        label = f"{model._meta.label_lower}.{field.name}"
        if label in IDENTITY_COLUMNS:
            values[label] = {v for v in model.objects.values_list(field.name, flat=True) if v}
    return values


def all_text_cells() -> list[str]:
    """Every non-empty text cell of every table of the database, as an auditor's dump sees it."""
    cells = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            cells.extend(str(v) for row in cursor.fetchall() for v in row if isinstance(v, str) and v)
    return cells


def test_every_identity_column_of_the_models_is_encrypted():
    encrypted = {f"{m._meta.label_lower}.{f.name}" for m, f in encrypted_columns()}
    assert encrypted >= IDENTITY_COLUMNS


def test_the_demo_holds_no_identity_number_phone_or_account_in_clear_and_rotates(demo_keys, capsys):
    call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # The demo has no activation in progress: one code sent and one wrong try.
    someone = Trainee.objects.filter(user=None).first()
    now = timezone.now()
    OneTimeCode.objects.create(
        resident_id=someone.resident_id, purpose=CodePurpose.ACTIVATE, code_hash="-",
        created_at=now, expires_at=now + datetime.timedelta(minutes=10),
    )  # fmt: skip
    ActivationGuard.objects.create(resident_id=someone.resident_id, code_failures=1)
    before = identity_values()
    assert all(before[label] for label in IDENTITY_COLUMNS), before

    # Raw SQL over the trainee, application and claim tables: ciphertext only.
    for table, columns in {
        "trainees_trainee": ["resident_id", "phone", "bank_account"],
        "trainees_application": ["resident_id", "phone"],
        "subsidies_subsidyclaim": ["payee_account"],
        "subsidies_externalsubsidyrecord": ["resident_id"],
        "payments_paymentitem": ["payee_resident_id", "payee_account"],
        "portal_onetimecode": ["resident_id"],
        "portal_activationguard": ["resident_id"],
    }.items():
        for row in raw_rows(table, columns):
            for stored in row:
                assert stored == "" or (stored.startswith("v1$demo1$") and not stored.isdigit()), (
                    table,
                    stored,
                )
    # And no table anywhere holds one of the values in clear (a dump hands out nothing).
    plain = set().union(*before.values())
    leaked = {cell for cell in all_text_cells() for value in plain if value in cell}
    assert leaked == set()

    # Key rotation: a new active key, re-encrypt in batches, remove the old key.
    demo_keys("demo2", demo1=b"1" * 16, demo2=b"2" * 16)
    call_command("rotate_pii_key", "--batch-size", "7", stdout=open("/dev/null", "w"))  # noqa: SIM115
    demo_keys("demo2", demo2=b"2" * 16)
    usage = pii_key_usage()
    assert {label: set(usage[label]) for label in IDENTITY_COLUMNS if usage[label]} == {
        label: {"demo2"} for label in IDENTITY_COLUMNS if usage[label]
    }
    assert identity_values() == before
    assert all(report.ok for report in audit_verify())
    # The blind indexes did not move (their own key): every person is still found.
    for trainee in Trainee.objects.all():
        assert Trainee.objects.get(**blind_lookup(Trainee, "resident_id", trainee.resident_id)) == trainee


def test_the_same_person_twice_is_refused_through_the_blind_index(institution_staff, hangzhou):
    number = "11010519491231002X"
    fields = {"name": "重复", "category": "professional", "household_city": hangzhou}
    trainee_create(actor=institution_staff, resident_id=number, **fields)
    with pytest.raises(Conflict) as refused:
        trainee_create(actor=institution_staff, resident_id=" 11010519491231002x ", **fields)
    assert refused.value.code == "trainee_exists"
    # The database itself refuses it, whatever the code in front of it does.
    with pytest.raises(IntegrityError, match="resident_id"), transaction.atomic():
        Trainee.objects.create(resident_id=number, **fields)
    assert Trainee.objects.count() == 1


def test_a_value_changed_with_update_fields_moves_its_blind_index():
    trainee = TraineeFactory(phone="13800000001")
    trainee.phone = "138 0000 0002"
    trainee.save(update_fields=["phone"])
    assert Trainee.objects.filter(**blind_lookup(Trainee, "phone", "13800000002")).get() == trainee
    assert not Trainee.objects.filter(**blind_lookup(Trainee, "phone", "13800000001")).exists()


def test_a_forgotten_plain_lookup_fails_loudly_instead_of_matching_nothing():
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError, match="blind index"):
        Trainee.objects.filter(resident_id="330106199003070079").exists()


def test_an_imported_subsidy_matches_its_person_whatever_the_case_of_x(hangzhou):
    # The annual limit counts imported subsidies by resident_id_index (subsidies/rules.py).
    trainee = TraineeFactory(resident_id="11010519491231002X")
    ExternalSubsidyRecord.objects.create(
        resident_id="11010519491231002x", name=trainee.name, kind="技能提升补贴",
        grant_date="2025-03-01", amount="1000",
    )  # fmt: skip
    assert ExternalSubsidyRecord.objects.get().resident_id_index == trainee.resident_id_index
    assert raw_rows("subsidies_externalsubsidyrecord", ["resident_id"])[0][0].startswith("v1$")


def test_admin_search_finds_a_trainee_by_the_whole_id_number_or_phone(provincial_staff):
    trainee = TraineeFactory(phone="13912345678")
    TraineeFactory()
    model_admin = site._registry[Trainee]
    request = RequestFactory().get("/")
    request.user = provincial_staff
    for term in (trainee.resident_id, "139-1234-5678"):
        found, _dup = model_admin.get_search_results(request, Trainee.objects.all(), term)
        assert list(found) == [trainee]
    found, _dup = model_admin.get_search_results(request, Trainee.objects.all(), trainee.resident_id[:10])
    assert list(found) == []


def test_a_claim_copies_the_payee_account_encrypted_in_the_account_domain(trainee):
    trainee.bank_account = "6222 0212 3456 7890"
    trainee.save()
    claim_index = SubsidyClaim._meta.get_field("payee_account_index").compute("6222021234567890")
    assert trainee.bank_account_index == claim_index
    assert raw_rows("trainees_trainee", ["bank_account"])[0][0].startswith("v1$")


def test_application_phone_and_id_are_encrypted(hangzhou):
    from institutions.tests.factories import TrainingPlanFactory

    plan = TrainingPlanFactory()
    Application.objects.create(
        plan=plan, resident_id=generate_resident_id(sequence=5), name="报名", phone="13700000005",
        category="professional", household_city=hangzhou,
    )  # fmt: skip
    [(rid, phone, rid_index)] = raw_rows(
        "trainees_application", ["resident_id", "phone", "resident_id_index"]
    )
    assert crypto.is_encrypted(rid) and crypto.is_encrypted(phone) and len(rid_index) == 64


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class TestConcurrentRegistration:
    THREADS = 8

    def test_eight_registrations_of_one_person_at_once_make_one_trainee(self, institution_staff, hangzhou):
        number = "11010519491231002X"
        variants = [number, number.lower(), f" {number} ", f" {number.lower()}"] * 2
        outcomes = run_at_once(
            [
                lambda v=v: trainee_create(
                    actor=institution_staff,
                    resident_id=v,
                    name="并发",
                    category="professional",
                    household_city=hangzhou,
                )  # fmt: skip
                for v in variants
            ]
        )
        assert [o for o in outcomes if o[0] == "error"] == []
        assert sum(o[0] == "ok" for o in outcomes) == 1
        assert {o[0] for o in outcomes if o[0] != "ok"} == {"trainee_exists"}
        assert Trainee.objects.count() == 1

    def test_the_database_refuses_concurrent_inserts_that_skip_every_check(self, hangzhou):
        number = generate_resident_id(area="330106", birth="19910409", sequence=12)

        def insert():
            with transaction.atomic():
                return Trainee.objects.create(
                    resident_id=number, name="并发", category="professional", household_city=hangzhou
                )

        outcomes = run_at_once([insert] * self.THREADS)
        assert sum(o[0] == "ok" for o in outcomes) == 1
        errors = [o[1] for o in outcomes if o[0] == "error"]
        assert len(errors) == self.THREADS - 1
        assert all(
            isinstance(e, IntegrityError) and "trainees_trainee_resident_id_unique" in str(e) for e in errors
        )
        assert Trainee.objects.count() == 1


def test_full_clean_of_a_second_record_of_a_person_names_the_problem(trainee):
    from django.core.exceptions import ValidationError

    duplicate = Trainee(
        resident_id=trainee.resident_id.lower(), name="又一个", category="professional",
        household_city=trainee.household_city,
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert [e.code for e in refused.value.error_dict["__all__"]] == ["trainee_exists"]


BEFORE_PII = [("trainees", "0010_constraint_messages_all"), ("subsidies", "0009_constraint_messages_all")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_data_migrations_encrypt_and_index_existing_rows_and_can_be_taken_back():
    from django.db.migrations.executor import MigrationExecutor

    number, phone, account = "11010519491231002X", "13800001111", "6222021234567890"
    executor = MigrationExecutor(connection)
    latest = [key for key in executor.loader.graph.leaf_nodes() if key[0] in {"trainees", "subsidies"}]
    try:
        executor.migrate(BEFORE_PII)
        old = executor.loader.project_state(BEFORE_PII).apps
        city, _ = old.get_model("reference", "City").objects.get_or_create(code="339901", name="迁移市")
        old.get_model("trainees", "Trainee").objects.create(
            resident_id=number, name="旧", phone=phone, category="professional", household_city=city,
            bank_account=account,
        )  # fmt: skip
        old.get_model("subsidies", "ExternalSubsidyRecord").objects.create(
            resident_id=number, name="旧", kind="技能提升补贴", grant_date="2025-01-01", amount="100"
        )

        executor = MigrationExecutor(connection)
        executor.migrate(latest)
        [row] = raw_rows("trainees_trainee", ["resident_id", "phone", "bank_account"])
        assert all(crypto.is_encrypted(v) for v in row)
        assert crypto.is_encrypted(raw_rows("subsidies_externalsubsidyrecord", ["resident_id"])[0][0])
        trainee = Trainee.objects.get(**blind_lookup(Trainee, "resident_id", number.lower()))
        assert (trainee.resident_id, trainee.phone, trainee.bank_account) == (number, phone, account)
        assert Trainee.objects.filter(**blind_lookup(Trainee, "phone", phone)).get() == trainee
        assert ExternalSubsidyRecord.objects.get().resident_id_index == trainee.resident_id_index
        with pytest.raises(IntegrityError), transaction.atomic():
            Trainee.objects.create(
                resident_id=number, name="旧", category="professional", household_city_id=city.pk
            )

        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE_PII)  # taken back: plain values again
        assert raw_rows("trainees_trainee", ["resident_id", "phone", "bank_account"]) == [
            (number, phone, account)
        ]
        assert raw_rows("subsidies_externalsubsidyrecord", ["resident_id"]) == [(number,)]
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_encrypted_values_are_one_line_inputs_in_the_admin_not_text_areas():
    from django import forms

    field = site._registry[Trainee].formfield_for_dbfield(
        Trainee._meta.get_field("resident_id"), request=None
    )
    assert isinstance(field.widget, forms.TextInput) and field.max_length == 18


def test_an_admin_searching_only_by_id_number_shows_its_search_box_and_finds_exactly(provincial_staff):
    first, second = TraineeFactory(), TraineeFactory()
    for person in (first, second):
        ActivationGuard.objects.create(resident_id=person.resident_id)
    model_admin = site._registry[ActivationGuard]
    request = RequestFactory().get("/")
    request.user = provincial_staff
    assert model_admin.get_search_fields(request)  # the changelist shows the box
    everyone = ActivationGuard.objects.all()
    found, _dup = model_admin.get_search_results(request, everyone, second.resident_id)
    assert [g.resident_id for g in found] == [second.resident_id]
    assert list(model_admin.get_search_results(request, everyone, "330")[0]) == []
