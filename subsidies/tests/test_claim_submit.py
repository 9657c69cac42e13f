"""claim_submit: each rule of SPEC.md triggered by its smallest scenario, and its boundary passing."""

import datetime
from decimal import Decimal

import pytest

from institutions.models import EvaluatorListing, InstitutionListing, ListingStatus, PlanStatus
from reference.models import Level
from reference.tests.factories import CityFactory, ProvinceBureauFactory, bureau_for
from subsidies.models import ClaimBasis, ClaimEvent, ClaimStatus, PolicySettings, SubsidyClaim
from subsidies.services import ClaimIneligible, claim_reject, claim_withdraw
from subsidies.tests.factories import (
    ExternalSubsidyRecordFactory,
    SubsidyClaimFactory,
    SubsidyStandardFactory,
)
from subsidies.tests.helpers import failed_codes, freeze, occupation
from trainees.tests.factories import GraduateTraineeFactory, TraineeFactory

pytestmark = pytest.mark.django_db


def test_a_claim_that_meets_every_rule_is_submitted_with_its_amount_basis_and_first_event(
    today, trainee, certify, submit, hangzhou_bureau
):
    training, level = certify(trainee, level=Level.INTERMEDIATE)
    claim = submit(trainee, training, level, actor=trainee.user)
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.amount == Decimal("3700")
    assert claim.basis == ClaimBasis.HOUSEHOLD
    assert claim.claim_year == 2025
    assert claim.bureau == hangzhou_bureau
    assert all(r["passed"] for r in claim.rule_results)
    event = ClaimEvent.objects.get(claim=claim)
    assert (event.from_status, event.to_status, event.actor) == ("", ClaimStatus.SUBMITTED, trainee.user)


def test_a_refused_claim_names_every_failed_rule_and_writes_nothing(
    today, trainee, certify, submit, ningbo_bureau
):
    training, level = certify(trainee, issued_on=datetime.date(2023, 9, 1), standard=False)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level, bureau=ningbo_bureau)
    assert exc.value.code == "claim_ineligible"
    assert set(failed_codes(exc)) == {
        "before_policy_start",
        "wrong_bureau",
        "no_standard",
        "claim_window_closed",
    }
    assert all(r["message"] for r in exc.value.detail["rules"])
    assert SubsidyClaim.objects.count() == 0
    assert ClaimEvent.objects.count() == 0


# -- missing_certificates / certificate_mismatch / certificate_already_used -------------------


def test_a_claim_without_a_training_certificate_is_refused_with_missing_certificates(
    today, trainee, certify, submit
):
    _training, level = certify(trainee)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, None, level)
    assert failed_codes(exc) == ["missing_certificates"]


def test_a_claim_on_someone_elses_certificates_is_refused_with_missing_certificates(
    today, trainee, hangzhou, certify, submit
):
    other = TraineeFactory(household_city=hangzhou)
    training, level = certify(other)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["missing_certificates"]


def test_certificates_of_different_occupations_are_refused_with_certificate_mismatch(
    today, trainee, certify, submit
):
    training, _level = certify(trainee, occupation_index=0)
    _training, level = certify(trainee, occupation_index=1)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["certificate_mismatch"]


def test_certificates_of_different_levels_are_refused_with_certificate_mismatch(
    today, trainee, certify, submit
):
    training, _level = certify(trainee, level=Level.JUNIOR)
    _training, level = certify(trainee, level=Level.INTERMEDIATE)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert "certificate_mismatch" in failed_codes(exc)


def test_a_certificate_backing_an_active_claim_is_refused_with_certificate_already_used(
    today, trainee, certify, submit
):
    training, level = certify(trainee)
    submit(trainee, training, level)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert "certificate_already_used" in failed_codes(exc)


@pytest.mark.parametrize("status", [ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN])
def test_a_certificate_of_a_rejected_or_withdrawn_claim_may_back_a_new_claim(
    today, trainee, certify, submit, status
):
    training, level = certify(trainee)
    SubsidyClaimFactory(level_certificate=level, status=status)
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED


# -- institution_not_listed / evaluator_not_listed / before_policy_start ------------------------


def test_training_by_an_institution_suspended_during_the_course_is_refused_with_institution_not_listed(
    today, trainee, certify, submit, institution
):
    training, level = certify(trainee)
    InstitutionListing.objects.create(
        institution=institution,
        status=ListingStatus.SUSPENDED,
        effective_from=training.plan.start_date + datetime.timedelta(days=10),
    )
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["institution_not_listed"]


def test_an_institution_suspended_the_day_after_the_course_ended_does_not_block_the_claim(
    today, trainee, certify, submit, institution
):
    training, level = certify(trainee)
    InstitutionListing.objects.create(
        institution=institution,
        status=ListingStatus.SUSPENDED,
        effective_from=training.plan.end_date + datetime.timedelta(days=1),
    )
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED


def test_training_under_a_plan_that_was_never_accepted_is_refused_with_institution_not_listed(
    today, trainee, certify, submit
):
    training, level = certify(trainee, status=PlanStatus.FILED)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["institution_not_listed"]


def test_a_certificate_from_a_suspended_evaluator_is_refused_with_evaluator_not_listed(
    today, trainee, certify, submit, evaluator
):
    training, level = certify(trainee)
    EvaluatorListing.objects.create(
        evaluator=evaluator, status=ListingStatus.SUSPENDED, effective_from=level.issued_on
    )
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["evaluator_not_listed"]


def test_an_evaluator_suspended_the_day_after_the_certificate_does_not_block_the_claim(
    today, trainee, certify, submit, evaluator
):
    training, level = certify(trainee)
    EvaluatorListing.objects.create(
        evaluator=evaluator,
        status=ListingStatus.SUSPENDED,
        effective_from=level.issued_on + datetime.timedelta(days=1),
    )
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED


def test_a_certificate_of_the_day_before_the_policy_start_is_refused_and_of_the_start_day_passes(
    trainee, certify, submit
):
    for n in range(2):  # a standard in force before the programme, so only the date fails
        SubsidyStandardFactory(occupation=occupation(n), effective_from=datetime.date(2023, 1, 1))
    with freeze(datetime.date(2024, 1, 10)):
        training, level = certify(
            trainee, issued_on=datetime.date(2023, 9, 15), occupation_index=0, standard=False
        )
        with pytest.raises(ClaimIneligible) as exc:
            submit(trainee, training, level)
        assert failed_codes(exc) == ["before_policy_start"]
        training, level = certify(
            trainee, issued_on=datetime.date(2023, 9, 16), occupation_index=1, standard=False
        )
        assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED


# -- annual_limit ---------------------------------------------------------------------------


def _three_claims(trainee, certify, submit):
    for n in range(3):
        training, level = certify(trainee, occupation_index=n)
        submit(trainee, training, level)


def test_the_third_claim_in_a_year_passes_and_the_fourth_is_refused_with_annual_limit(
    today, trainee, certify, submit
):
    for n in range(2):
        training, level = certify(trainee, occupation_index=n)
        submit(trainee, training, level)
    training, level = certify(trainee, occupation_index=2)
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED
    training, level = certify(trainee, occupation_index=3)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["annual_limit"]


def test_a_claim_in_january_of_the_next_year_passes_after_three_in_december(trainee, certify, submit):
    with freeze(datetime.date(2025, 12, 31), hour=23):
        _three_claims(trainee, certify, submit)
        training, level = certify(trainee, occupation_index=3, issued_on=datetime.date(2025, 6, 1))
    # 00:30 on 1 January in Zhejiang is still 31 December in UTC: the year is Zhejiang's.
    with freeze(datetime.date(2026, 1, 1), hour=0):
        claim = submit(trainee, training, level)
    assert (claim.status, claim.claim_year) == (ClaimStatus.SUBMITTED, 2026)


def test_rejected_and_withdrawn_claims_do_not_count_toward_the_annual_limit(
    today, trainee, certify, submit, hangzhou_reviewer
):
    claims = []
    for n in range(3):
        training, level = certify(trainee, occupation_index=n)
        claims.append(submit(trainee, training, level))
    claim_reject(claim=claims[0], actor=hangzhou_reviewer, reason="材料不全")
    training, level = certify(trainee, occupation_index=3)
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED
    claim_withdraw(claim=claims[1], actor=trainee.user)
    training, level = certify(trainee, occupation_index=4)
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED
    training, level = certify(trainee, occupation_index=5)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["annual_limit"]


def test_claims_in_other_cities_count_toward_the_annual_limit(today, trainee, certify, submit, ningbo):
    trainee.employment_city = ningbo
    trainee.save()
    ningbo_bureau = bureau_for(ningbo.code)
    for n in range(3):
        training, level = certify(trainee, occupation_index=n)
        submit(trainee, training, level, bureau=ningbo_bureau)
    training, level = certify(trainee, occupation_index=3)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["annual_limit"]


def test_other_subsidies_imported_for_the_person_count_in_the_year_of_their_grant(
    today, trainee, certify, submit
):
    for n in range(2):
        training, level = certify(trainee, occupation_index=n)
        submit(trainee, training, level)
    ExternalSubsidyRecordFactory(resident_id=trainee.resident_id, grant_date=datetime.date(2024, 12, 31))
    training, level = certify(trainee, occupation_index=2)
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED  # 2024's grant does not count
    ExternalSubsidyRecordFactory(resident_id=trainee.resident_id, grant_date=datetime.date(2025, 1, 2))
    SubsidyClaim.objects.filter(trainee=trainee, occupation__name=occupation(2).name).update(
        status=ClaimStatus.WITHDRAWN
    )
    training, level = certify(trainee, occupation_index=3)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["annual_limit"]


def test_the_annual_limit_comes_from_the_policy_settings(today, trainee, certify, submit):
    settings = PolicySettings.current()
    settings.annual_limit = 1
    settings.save()
    training, level = certify(trainee, occupation_index=0)
    submit(trainee, training, level)
    training, level = certify(trainee, occupation_index=1)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["annual_limit"]


# -- duplicate_occupation_level / lower_level_after_higher ----------------------------------


def test_a_second_claim_for_the_same_occupation_and_level_is_refused_even_years_later(
    trainee, certify, submit
):
    with freeze(datetime.date(2024, 5, 1)):
        training, level = certify(trainee, issued_on=datetime.date(2024, 4, 1))
        submit(trainee, training, level)
    with freeze(datetime.date(2025, 3, 10)):
        training, level = certify(trainee, issued_on=datetime.date(2025, 1, 10))
        with pytest.raises(ClaimIneligible) as exc:
            submit(trainee, training, level)
    assert failed_codes(exc) == ["duplicate_occupation_level"]


def test_the_same_occupation_at_another_level_is_not_a_duplicate(today, trainee, certify, submit):
    training, level = certify(trainee, level=Level.JUNIOR)
    submit(trainee, training, level)
    training, level = certify(trainee, level=Level.INTERMEDIATE)
    assert submit(trainee, training, level).level == Level.INTERMEDIATE


def test_a_withdrawn_claim_does_not_block_a_new_one_for_the_same_occupation_and_level(
    today, trainee, certify, submit
):
    training, level = certify(trainee)
    SubsidyClaimFactory(
        trainee=trainee, occupation=level.occupation, level=level.level, status=ClaimStatus.WITHDRAWN
    )
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED


def test_a_lower_level_after_a_higher_one_of_the_same_occupation_is_refused(today, trainee, certify, submit):
    training, level = certify(trainee, level=Level.SENIOR)
    submit(trainee, training, level)
    training, level = certify(trainee, level=Level.JUNIOR)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["lower_level_after_higher"]


def test_a_lower_level_passes_when_provincial_staff_turn_the_rule_off(today, trainee, certify, submit):
    settings = PolicySettings.current()
    settings.lower_level_rule_enabled = False
    settings.save()
    training, level = certify(trainee, level=Level.SENIOR)
    submit(trainee, training, level)
    training, level = certify(trainee, level=Level.JUNIOR)
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED


def test_a_lower_level_of_another_occupation_passes(today, trainee, certify, submit):
    training, level = certify(trainee, occupation_index=0, level=Level.SENIOR)
    submit(trainee, training, level)
    training, level = certify(trainee, occupation_index=1, level=Level.JUNIOR)
    assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED


# -- wrong_bureau ---------------------------------------------------------------------------


def test_a_bureau_of_none_of_the_trainees_cities_is_refused_with_wrong_bureau(
    today, trainee, certify, submit, ningbo_bureau
):
    training, level = certify(trainee)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level, bureau=ningbo_bureau)
    assert failed_codes(exc) == ["wrong_bureau"]


@pytest.mark.parametrize(
    ("field", "basis"), [("residence_city", ClaimBasis.RESIDENCE), ("employment_city", ClaimBasis.EMPLOYMENT)]
)
def test_the_residence_or_employment_city_bureau_accepts_the_claim_and_records_the_basis(
    today, trainee, certify, submit, ningbo, ningbo_bureau, field, basis
):
    setattr(trainee, field, ningbo)
    trainee.save()
    training, level = certify(trainee)
    claim = submit(trainee, training, level, bureau=ningbo_bureau)
    assert claim.basis == basis


def test_a_graduate_in_the_graduation_year_must_claim_at_the_school_city(
    today, hangzhou, ningbo, certify, submit, hangzhou_bureau, ningbo_bureau
):
    graduate = GraduateTraineeFactory(household_city=hangzhou, school_city=ningbo, graduation_year=2025)
    training, level = certify(graduate)
    with pytest.raises(ClaimIneligible) as exc:
        submit(graduate, training, level, bureau=hangzhou_bureau)
    assert failed_codes(exc) == ["wrong_bureau"]
    claim = submit(graduate, training, level, bureau=ningbo_bureau)
    assert claim.basis == ClaimBasis.SCHOOL


def test_a_graduate_of_an_earlier_year_claims_like_anyone_else(
    today, hangzhou, ningbo, certify, submit, ningbo_bureau
):
    graduate = GraduateTraineeFactory(household_city=hangzhou, school_city=ningbo, graduation_year=2024)
    training, level = certify(graduate)
    with pytest.raises(ClaimIneligible) as exc:
        submit(graduate, training, level, bureau=ningbo_bureau)
    assert failed_codes(exc) == ["wrong_bureau"]
    assert submit(graduate, training, level).basis == ClaimBasis.HOUSEHOLD


def test_the_province_and_bureaus_outside_zhejiang_cannot_receive_a_claim(today, trainee, certify, submit):
    training, level = certify(trainee)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level, bureau=ProvinceBureauFactory())
    assert failed_codes(exc) == ["wrong_bureau"]
    shanghai = CityFactory(code="310100", name="上海市", in_zhejiang=False)
    trainee.employment_city = shanghai
    trainee.save()
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level, bureau=bureau_for(shanghai.code))
    assert failed_codes(exc) == ["wrong_bureau"]


# -- no_standard ----------------------------------------------------------------------------


def test_a_claim_without_a_standard_in_force_is_refused_with_no_standard(today, trainee, certify, submit):
    training, level = certify(trainee, standard=False)
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["no_standard"]


def test_the_amount_is_the_standard_in_force_on_the_certificates_issue_date(today, trainee, certify, submit):
    training, level = certify(trainee, issued_on=datetime.date(2024, 12, 31), standard=False)
    occ = level.occupation
    SubsidyStandardFactory(
        occupation=occ, level=Level.JUNIOR, amount=Decimal("2000"), effective_to=datetime.date(2024, 12, 31)
    )
    SubsidyStandardFactory(
        occupation=occ, level=Level.JUNIOR, amount=Decimal("2500"), effective_from=datetime.date(2025, 1, 1)
    )
    assert submit(trainee, training, level).amount == Decimal("2000")


def test_a_standard_that_starts_after_the_issue_date_does_not_apply(today, trainee, certify, submit):
    training, level = certify(trainee, issued_on=datetime.date(2024, 12, 31), standard=False)
    SubsidyStandardFactory(
        occupation=level.occupation, level=Level.JUNIOR, effective_from=datetime.date(2025, 1, 1)
    )
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == ["no_standard"]


# -- claim_window_closed --------------------------------------------------------------------


def test_a_claim_on_the_last_day_of_the_window_passes_and_the_day_after_is_refused(trainee, certify, submit):
    # 2024-02-29 + 12 months -> 2025-02-28 (the day does not exist in 2025).
    with freeze(datetime.date(2025, 2, 28), hour=23):
        training, level = certify(trainee, issued_on=datetime.date(2024, 2, 29), occupation_index=0)
        late_training, late_level = certify(trainee, issued_on=datetime.date(2024, 2, 29), occupation_index=1)
        assert submit(trainee, training, level).status == ClaimStatus.SUBMITTED
    with freeze(datetime.date(2025, 3, 1), hour=0), pytest.raises(ClaimIneligible) as exc:
        submit(trainee, late_training, late_level)
    assert failed_codes(exc) == ["claim_window_closed"]


def test_the_claim_window_comes_from_the_policy_settings(trainee, certify, submit):
    settings = PolicySettings.current()
    settings.claim_window_months = 6
    settings.save()
    with freeze(datetime.date(2025, 7, 11)):
        training, level = certify(trainee, issued_on=datetime.date(2025, 1, 10))
        with pytest.raises(ClaimIneligible) as exc:
            submit(trainee, training, level)
    assert failed_codes(exc) == ["claim_window_closed"]


# -- who may submit -------------------------------------------------------------------------


def test_a_trainee_cannot_submit_a_claim_for_another_trainee(today, trainee, hangzhou, certify, submit):
    from accounts.models import Role
    from accounts.tests.factories import UserFactory
    from core.errors import NotPermitted

    other = TraineeFactory(household_city=hangzhou, user=UserFactory(role=Role.TRAINEE))
    training, level = certify(trainee)
    with pytest.raises(NotPermitted):
        submit(trainee, training, level, actor=other.user)
    assert SubsidyClaim.objects.count() == 0


def test_a_reviewer_of_the_bureau_may_file_a_claim_for_a_trainee(
    today, trainee, certify, submit, hangzhou_reviewer
):
    training, level = certify(trainee)
    assert submit(trainee, training, level, actor=hangzhou_reviewer).submitted_by == hangzhou_reviewer


# -- when the database, not the rules, says no ---------------------------------------------


@pytest.mark.parametrize(
    ("same_certificate", "expected"),
    [(True, "certificate_already_used"), (False, "duplicate_occupation_level")],
)
def test_a_duplicate_the_rules_missed_is_refused_by_the_database_as_the_same_rule(
    today, trainee, certify, submit, monkeypatch, same_certificate, expected
):
    """The partial unique constraints back the rules; a refusal there is a rule failure, not a 500."""
    from subsidies import rules

    skipped = {"certificate_already_used", "duplicate_occupation_level"}
    monkeypatch.setattr(rules, "RULES", {c: fn for c, fn in rules.RULES.items() if c not in skipped})
    training, level = certify(trainee)
    if same_certificate:
        # An earlier claim on this certificate recorded under another occupation, so only
        # the certificate constraint applies.
        SubsidyClaimFactory(level_certificate=level, occupation=occupation(5))
    else:
        submit(trainee, *certify(trainee))
    with pytest.raises(ClaimIneligible) as exc:
        submit(trainee, training, level)
    assert failed_codes(exc) == [expected]
    assert SubsidyClaim.objects.count() == 1
