"""Every invariant the database holds refuses a violating row by itself.

Rows are written with ``objects.create`` / ``bulk_create`` (factories write that way too),
so no ``full_clean()`` stands in front of the database. Each test checks that the *named*
constraint fired: PostgreSQL names every constraint in its error, SQLite names CHECK
constraints and lists the columns of a UNIQUE one.
"""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Role, User
from certificates.models import LevelAssessment, LevelCertificate, TrainingCertificate
from certificates.tests.factories import (
    LevelAssessmentFactory,
    LevelCertificateFactory,
    TrainingCertificateFactory,
)
from institutions.models import EvaluatorListing, InstitutionListing, ListingStatus, PlanStatus, TrainingPlan
from institutions.tests.factories import (
    EvaluationInstitutionFactory,
    TrainingInstitutionFactory,
    TrainingPlanFactory,
)
from reference.models import Bureau, City, Direction, Level, Occupation
from reference.tests.factories import CityFactory, OccupationFactory, ProvinceBureauFactory, bureau_for
from reports.models import JobStatus, ReportJob
from subsidies.models import (
    ClaimEvent,
    ClaimStatus,
    ExternalSubsidyRecord,
    PolicySettings,
    SubsidyClaim,
    SubsidyStandard,
)
from subsidies.tests.factories import (
    ExternalSubsidyRecordFactory,
    SubsidyClaimFactory,
    SubsidyStandardFactory,
)
from trainees.models import CompletionResult, Enrolment, Trainee, TraineeCategory
from trainees.tests.factories import EnrolmentFactory, TraineeFactory

pytestmark = pytest.mark.django_db


@contextmanager
def refused(name: str, *, unique_columns: tuple[str, ...] = ()):
    """Expect the database to refuse with constraint ``name``.

    ``unique_columns`` ("table.column", ...) identify a UNIQUE constraint on SQLite, which
    reports columns rather than the name.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    message = str(excinfo.value)
    if connection.vendor == "sqlite" and unique_columns:
        assert "UNIQUE constraint failed" in message, message
        for column in unique_columns:
            assert column in message, message
    else:
        assert name in message, message


# --- reference -----------------------------------------------------------------------------


def test_city_code_must_be_six_digits():
    with refused("reference_city_code_six_digits"):
        City.objects.create(code="3301", name="某市")


def test_city_codes_and_names_are_unique():
    CityFactory(code="330100")
    with refused("reference_city_code_key", unique_columns=("reference_city.code",)):
        City.objects.create(code="330100", name="另一个杭州")
    with refused("reference_city_name_key", unique_columns=("reference_city.name",)):
        City.objects.create(code="339999", name="杭州市")


def test_a_city_bureau_names_its_city_and_the_province_none():
    hangzhou = CityFactory(code="330100")
    with refused("reference_bureau_city_iff_city_kind"):
        Bureau.objects.create(name="无城市的局", kind=Bureau.Kind.CITY, city=None)
    with refused("reference_bureau_city_iff_city_kind"):
        Bureau.objects.create(name="带城市的厅", kind=Bureau.Kind.PROVINCE, city=hangzhou)


def test_there_is_only_one_provincial_department():
    ProvinceBureauFactory()
    with refused("reference_bureau_one_province", unique_columns=("reference_bureau.kind",)):
        Bureau.objects.create(name="第二个省厅", kind=Bureau.Kind.PROVINCE)


def test_one_bureau_per_city():
    bureau = bureau_for("330100")
    with refused("reference_bureau_city_id_key", unique_columns=("reference_bureau.city_id",)):
        Bureau.objects.create(name="杭州第二局", kind=Bureau.Kind.CITY, city=bureau.city)


def test_occupation_codes_are_unique_but_many_may_be_unconfirmed():
    OccupationFactory(name="人工智能工程技术人员")
    with refused("reference_occupation_code_2021_unique", unique_columns=("reference_occupation.code_2021",)):
        Occupation.objects.create(name="甲", code_2021="2-02-10-09")
    with refused("reference_occupation_code_2022_unique", unique_columns=("reference_occupation.code_2022",)):
        Occupation.objects.create(name="乙", code_2022="2-02-38-01")
    # Blank codes (not yet confirmed) do not collide.
    Occupation.objects.create(name="丙")
    Occupation.objects.create(name="丁")
    assert Occupation.objects.filter(code_2021="").count() == 2


def test_a_direction_name_is_unique_within_its_occupation():
    occupation = OccupationFactory()
    Direction.objects.create(occupation=occupation, name="计算机视觉产品实现")
    with refused(
        "reference_direction_unique_per_occupation",
        unique_columns=("reference_direction.occupation_id", "reference_direction.name"),
    ):
        Direction.objects.create(occupation=occupation, name="计算机视觉产品实现")


# --- accounts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, organisation",
    [
        (Role.BUREAU, {}),
        (Role.INSTITUTION, {}),
        (Role.EVALUATOR, {}),
        (Role.TRAINEE, {"bureau": "hangzhou"}),
        (Role.INSTITUTION, {"institution": "school", "bureau": "hangzhou"}),
        ("", {"bureau": "hangzhou"}),
    ],
)
def test_a_users_role_names_exactly_its_own_kind_of_organisation(role, organisation):
    objects = {"hangzhou": bureau_for("330100"), "school": TrainingInstitutionFactory()}
    fields = {field: objects[key] for field, key in organisation.items()}
    with refused("accounts_user_role_matches_organisation"):
        User.objects.create(username="bad", role=role, **fields)


# --- institutions --------------------------------------------------------------------------


def test_institution_credit_codes_and_names_are_unique():
    school = TrainingInstitutionFactory()
    with refused(
        "institutions_traininginstitution_credit_code_key",
        unique_columns=("institutions_traininginstitution.credit_code",),
    ):
        type(school).objects.create(name="另一所学校", credit_code=school.credit_code, city=school.city)
    evaluator = EvaluationInstitutionFactory()
    with refused(
        "institutions_evaluationinstitution_name_key",
        unique_columns=("institutions_evaluationinstitution.name",),
    ):
        type(evaluator).objects.create(name=evaluator.name, credit_code="X", city=evaluator.city)


def test_one_catalogue_entry_per_institution_per_day():
    school = TrainingInstitutionFactory(listed_since=datetime.date(2020, 1, 1))
    with refused(
        "institutions_institutionlisting_one_per_day",
        unique_columns=("institutions_institutionlisting.institution_id",),
    ):
        InstitutionListing.objects.create(
            institution=school, status=ListingStatus.SUSPENDED, effective_from=datetime.date(2020, 1, 1)
        )
    evaluator = EvaluationInstitutionFactory(listed_since=datetime.date(2020, 1, 1))
    with refused(
        "institutions_evaluatorlisting_one_per_day",
        unique_columns=("institutions_evaluatorlisting.evaluator_id",),
    ):
        EvaluatorListing.objects.create(
            evaluator=evaluator, status=ListingStatus.REMOVED, effective_from=datetime.date(2020, 1, 1)
        )


def _plan_row(**overrides) -> TrainingPlan:
    """An unsaved copy of a valid accepted plan, with ``overrides``."""
    plan = TrainingPlanFactory()
    plan.pk = None
    for field, value in overrides.items():
        setattr(plan, field, value)
    return plan


@pytest.mark.parametrize(
    "overrides, name",
    [
        ({"end_date": datetime.date(2023, 12, 31)}, "institutions_trainingplan_end_after_start"),
        ({"hours_online": Decimal("-1")}, "institutions_trainingplan_hours_online_non_negative"),
        ({"hours_offline": Decimal("-0.5")}, "institutions_trainingplan_hours_offline_non_negative"),
        (
            {"hours_online": Decimal("0"), "hours_offline": Decimal("0")},
            "institutions_trainingplan_has_hours",
        ),
        ({"class_size": 0}, "institutions_trainingplan_class_size_positive"),
        ({"fee": Decimal("-0.01")}, "institutions_trainingplan_fee_non_negative"),
        (
            {"status": PlanStatus.RETURNED, "return_reason": ""},
            "institutions_trainingplan_returned_has_reason",
        ),
    ],
)
def test_a_training_plan_row_that_breaks_a_rule_is_refused(overrides, name):
    plan = _plan_row(**overrides)
    with refused(name):
        TrainingPlan.objects.bulk_create([plan])


def test_a_returned_plan_with_a_reason_is_accepted_by_the_database():
    TrainingPlan.objects.bulk_create([_plan_row(status=PlanStatus.RETURNED, return_reason="学时不足")])
    assert TrainingPlan.objects.filter(status=PlanStatus.RETURNED).count() == 1


# --- trainees ------------------------------------------------------------------------------


def test_one_trainee_per_resident_id():
    # On the blind index: the column itself holds ciphertext with a fresh nonce (issue 18).
    trainee = TraineeFactory()
    with refused(
        "trainees_trainee_resident_id_unique", unique_columns=("trainees_trainee.resident_id_index",)
    ):
        Trainee.objects.create(
            resident_id=trainee.resident_id,
            name="冒名者",
            category="professional",
            household_city=trainee.household_city,
        )


@pytest.mark.parametrize("resident_id", ["33010219900101001", "33010219900101001y", "3301021990010100AX"])
def test_a_resident_id_not_shaped_like_one_is_refused(resident_id):
    # The database cannot check the shape of ciphertext (trainees_trainee_resident_id_format
    # went with the encryption of the column); the model's validation refuses it, and every
    # service writes through full_clean.
    trainee = Trainee(
        resident_id=resident_id, name="某", category="professional", household_city=CityFactory()
    )
    with pytest.raises(ValidationError) as excinfo:
        trainee.full_clean()
    codes = {e.code for e in excinfo.value.error_dict["resident_id"]}
    assert codes and codes <= {"resident_id_length", "resident_id_format"}


def test_a_graduate_names_a_school_city_and_graduation_year():
    city = CityFactory()
    with refused("trainees_trainee_graduate_has_school"):
        Trainee.objects.create(
            resident_id="11010519491231002X",
            name="毕业生",
            category=TraineeCategory.GRADUATE,
            household_city=city,
            school_city=city,
            graduation_year=None,
        )


def test_a_trainee_enrols_once_per_plan():
    enrolment = EnrolmentFactory()
    with refused(
        "trainees_enrolment_once_per_plan",
        unique_columns=("trainees_enrolment.plan_id", "trainees_enrolment.trainee_id"),
    ):
        Enrolment.objects.create(plan=enrolment.plan, trainee=enrolment.trainee)


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"hours_online": Decimal("-1")}, "trainees_enrolment_hours_online_non_negative"),
        ({"hours_offline": Decimal("-1")}, "trainees_enrolment_hours_offline_non_negative"),
        (
            {"completion_result": CompletionResult.PASSED, "completion_date": None},
            "trainees_enrolment_result_has_date",
        ),
    ],
)
def test_an_enrolment_row_that_breaks_a_rule_is_refused(fields, name):
    plan = TrainingPlanFactory()
    trainee = TraineeFactory()
    with refused(name):
        Enrolment.objects.create(plan=plan, trainee=trainee, **fields)


# --- certificates --------------------------------------------------------------------------


def test_training_certificate_numbers_are_unique_and_not_blank():
    certificate = TrainingCertificateFactory()
    other = EnrolmentFactory()
    fields = {
        "trainee": other.trainee,
        "enrolment": other,
        "institution": other.plan.institution,
        "plan": other.plan,
        "occupation": other.plan.occupation,
        "level": other.plan.level,
        "issued_on": datetime.date(2024, 4, 1),
    }
    with refused(
        "certificates_trainingcertificate_number_key",
        unique_columns=("certificates_trainingcertificate.number",),
    ):
        TrainingCertificate.objects.create(number=certificate.number, **fields)
    with refused("certificates_trainingcertificate_number_not_blank"):
        TrainingCertificate.objects.create(number="", **fields)


def test_one_training_certificate_per_enrolment():
    certificate = TrainingCertificateFactory()
    with refused(
        "certificates_trainingcertificate_enrolment_id_key",
        unique_columns=("certificates_trainingcertificate.enrolment_id",),
    ):
        TrainingCertificate.objects.create(
            number="PX-SECOND",
            trainee=certificate.trainee,
            enrolment=certificate.enrolment,
            institution=certificate.institution,
            plan=certificate.plan,
            occupation=certificate.occupation,
            level=certificate.level,
            issued_on=certificate.issued_on,
        )


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"theory_score": Decimal("100.5")}, "certificates_levelassessment_theory_score_range"),
        ({"theory_score": Decimal("-1")}, "certificates_levelassessment_theory_score_range"),
        ({"practical_score": Decimal("101")}, "certificates_levelassessment_practical_score_range"),
    ],
)
def test_test_scores_lie_between_0_and_100(fields, name):
    assessment = LevelAssessmentFactory()
    assessment.pk = None
    for field, value in fields.items():
        setattr(assessment, field, value)
    with refused(name):
        LevelAssessment.objects.bulk_create([assessment])


def test_level_certificate_numbers_are_unique_and_not_blank():
    certificate = LevelCertificateFactory()
    assessment = LevelAssessmentFactory()
    fields = {
        "trainee": assessment.trainee,
        "evaluator": assessment.evaluator,
        "occupation": assessment.occupation,
        "level": assessment.level,
        "issued_on": datetime.date(2024, 5, 1),
    }
    with refused(
        "certificates_levelcertificate_number_key", unique_columns=("certificates_levelcertificate.number",)
    ):
        LevelCertificate.objects.create(number=certificate.number, **fields)
    with refused("certificates_levelcertificate_number_not_blank"):
        LevelCertificate.objects.create(number="", **fields)


# --- subsidies: policy settings and standards ----------------------------------------------


def test_the_policy_settings_are_a_single_row():
    assert PolicySettings.current().pk == 1
    with refused("subsidies_policysettings_singleton"):
        PolicySettings.objects.bulk_create([PolicySettings(id=2)])


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"annual_limit": 0}, "subsidies_policysettings_annual_limit_positive"),
        ({"claim_window_months": 0}, "subsidies_policysettings_window_positive"),
    ],
)
def test_policy_settings_refuse_a_zero_limit_or_window(fields, name):
    with refused(name):
        PolicySettings.objects.filter(pk=1).update(**fields)


def test_a_standard_amount_is_not_negative_and_ends_after_it_starts():
    occupation = OccupationFactory()
    with refused("subsidies_subsidystandard_amount_non_negative"):
        SubsidyStandard.objects.create(
            occupation=occupation,
            level=Level.JUNIOR,
            amount=Decimal("-1"),
            effective_from=datetime.date(2024, 1, 1),
        )
    with refused("subsidies_subsidystandard_end_after_start"):
        SubsidyStandard.objects.create(
            occupation=occupation,
            level=Level.JUNIOR,
            amount=Decimal("2200"),
            effective_from=datetime.date(2024, 1, 1),
            effective_to=datetime.date(2023, 12, 31),
        )


@pytest.mark.parametrize(
    "effective_from, effective_to",
    [
        (datetime.date(2025, 1, 1), None),  # open-ended inside an open-ended one
        (datetime.date(2023, 1, 1), datetime.date(2023, 9, 16)),  # touches the first day
        (datetime.date(2020, 1, 1), None),  # encloses it
    ],
)
def test_overlapping_standards_for_one_occupation_and_level_are_refused_by_the_database(
    effective_from, effective_to
):
    first = SubsidyStandardFactory(effective_from=datetime.date(2023, 9, 16), effective_to=None)
    with refused("subsidies_subsidystandard_no_overlap"):
        SubsidyStandard.objects.create(
            occupation=first.occupation,
            level=first.level,
            amount=Decimal("3000"),
            effective_from=effective_from,
            effective_to=effective_to,
        )


def test_an_update_that_makes_standards_overlap_is_refused_by_the_database():
    first = SubsidyStandardFactory(
        effective_from=datetime.date(2023, 9, 16), effective_to=datetime.date(2024, 12, 31)
    )
    second = SubsidyStandardFactory(
        occupation=first.occupation, level=first.level, effective_from=datetime.date(2025, 1, 1)
    )
    with refused("subsidies_subsidystandard_no_overlap"):
        SubsidyStandard.objects.filter(pk=second.pk).update(effective_from=datetime.date(2024, 6, 1))


def test_consecutive_standards_and_other_levels_do_not_overlap():
    first = SubsidyStandardFactory(
        effective_from=datetime.date(2023, 9, 16), effective_to=datetime.date(2024, 12, 31)
    )
    SubsidyStandard.objects.create(
        occupation=first.occupation,
        level=first.level,
        amount=Decimal("2500"),
        effective_from=datetime.date(2025, 1, 1),
    )
    SubsidyStandard.objects.create(
        occupation=first.occupation,
        level=Level.SENIOR,
        amount=Decimal("5200"),
        effective_from=datetime.date(2023, 9, 16),
    )
    assert SubsidyStandard.objects.filter(occupation=first.occupation).count() == 3


def test_full_clean_refuses_an_overlapping_standard_with_a_clear_message():
    first = SubsidyStandardFactory(effective_from=datetime.date(2023, 9, 16))
    candidate = SubsidyStandard(
        occupation=first.occupation,
        level=first.level,
        amount=Decimal("3000"),
        effective_from=datetime.date(2026, 1, 1),
    )
    with pytest.raises(ValidationError) as excinfo:
        candidate.full_clean()
    assert [e.code for e in excinfo.value.error_dict["__all__"]] == ["standard_overlap"]
    first.full_clean()  # a standard does not overlap itself


# --- subsidies: claims and their log -------------------------------------------------------


def test_a_second_active_claim_for_the_same_trainee_occupation_and_level_is_refused():
    claim = SubsidyClaimFactory()
    again = LevelCertificateFactory(assessment__training_certificate__enrolment__trainee=claim.trainee)
    assert (again.occupation, again.level) == (claim.occupation, claim.level)
    with refused(
        "subsidies_subsidyclaim_one_active_per_occupation_level",
        unique_columns=("subsidies_subsidyclaim.trainee_id", "subsidies_subsidyclaim.occupation_id"),
    ):
        SubsidyClaimFactory(level_certificate=again)


@pytest.mark.parametrize("status", [ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN])
def test_a_rejected_or_withdrawn_claim_does_not_block_a_new_one(status):
    old = SubsidyClaimFactory(status=status)
    again = LevelCertificateFactory(assessment__training_certificate__enrolment__trainee=old.trainee)
    new = SubsidyClaimFactory(level_certificate=again)
    assert new.is_active
    # ... and a new claim may even reuse the certificates of a rejected or withdrawn one.
    SubsidyClaim.objects.filter(pk=new.pk).update(status=ClaimStatus.WITHDRAWN)
    SubsidyClaimFactory(level_certificate=old.level_certificate)


def _other_level_certificate_of(claim):
    return LevelCertificateFactory(
        assessment__training_certificate__enrolment__trainee=claim.trainee,
        assessment__training_certificate__enrolment__plan__level=Level.INTERMEDIATE,
    )


def test_a_training_certificate_backs_one_active_claim():
    claim = SubsidyClaimFactory()
    other = _other_level_certificate_of(claim)
    with refused(
        "subsidies_subsidyclaim_one_active_per_training_certificate",
        unique_columns=("subsidies_subsidyclaim.training_certificate_id",),
    ):
        SubsidyClaimFactory(level_certificate=other, training_certificate=claim.training_certificate)


def test_a_level_certificate_backs_one_active_claim():
    claim = SubsidyClaimFactory()
    other = _other_level_certificate_of(claim)
    with refused(
        "subsidies_subsidyclaim_one_active_per_level_certificate",
        unique_columns=("subsidies_subsidyclaim.level_certificate_id",),
    ):
        SubsidyClaimFactory(
            level_certificate=claim.level_certificate,
            training_certificate=other.assessment.training_certificate,
            level=Level.INTERMEDIATE,
        )


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"amount": Decimal("-1")}, "subsidies_subsidyclaim_amount_non_negative"),
        (
            {
                "status": ClaimStatus.PAID,
                "paid_amount": Decimal("-1"),
                "paid_on": datetime.date(2024, 6, 1),
                "voucher_number": "PZ1",
            },
            "subsidies_subsidyclaim_paid_amount_non_negative",
        ),
        ({"status": ClaimStatus.REJECTED, "reject_reason": ""}, "subsidies_subsidyclaim_rejected_has_reason"),
        ({"status": ClaimStatus.PAID, "paid_on": None}, "subsidies_subsidyclaim_paid_has_payment"),
        ({"status": ClaimStatus.PAID, "paid_amount": None}, "subsidies_subsidyclaim_paid_has_payment"),
        ({"status": ClaimStatus.PAID, "voucher_number": ""}, "subsidies_subsidyclaim_paid_has_payment"),
        ({"status": ClaimStatus.APPROVED, "decided_at": None}, "subsidies_subsidyclaim_decided_has_time"),
    ],
)
def test_a_claim_row_that_breaks_a_rule_is_refused(fields, name):
    with refused(name):
        SubsidyClaimFactory(**fields)


def test_claim_events_are_append_only_in_the_database():
    claim = SubsidyClaimFactory()
    ClaimEvent.objects.create(claim=claim, at=timezone.now(), from_status="", to_status=ClaimStatus.SUBMITTED)
    table = ClaimEvent._meta.db_table
    for sql in (f"UPDATE {table} SET reason = 'rewritten'", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert ClaimEvent.objects.get(claim=claim).reason == ""


def test_an_external_subsidy_grant_is_recorded_once_and_not_negative():
    record = ExternalSubsidyRecordFactory()
    with refused(
        "subsidies_externalsubsidyrecord_unique_grant",
        unique_columns=("subsidies_externalsubsidyrecord.resident_id",),
    ):
        ExternalSubsidyRecord.objects.create(
            resident_id=record.resident_id,
            name=record.name,
            kind=record.kind,
            grant_date=record.grant_date,
            amount=Decimal("100"),
        )
    with refused("subsidies_externalsubsidyrecord_amount_non_negative"):
        ExternalSubsidyRecordFactory(kind="创业培训补贴", amount=Decimal("-5"))


# --- reports -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"period_end": datetime.date(2023, 12, 31)}, "reports_reportjob_period_end_after_start"),
        ({"progress": 101}, "reports_reportjob_progress_max_100"),
        ({"status": JobStatus.DONE, "file": ""}, "reports_reportjob_done_has_file"),
    ],
)
def test_a_report_job_row_that_breaks_a_rule_is_refused(fields, name):
    values = {
        "kind": "claims",
        "bureau": bureau_for("330100"),
        "period_kind": "month",
        "period_start": datetime.date(2024, 1, 1),
        "period_end": datetime.date(2024, 1, 31),
    }
    values.update(fields)
    with refused(name):
        ReportJob.objects.create(**values)
