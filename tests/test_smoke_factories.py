import pytest

from subsidies.tests.factories import SubsidyClaimFactory


@pytest.mark.django_db
def test_a_claim_factory_builds_the_whole_path_behind_it():
    claim = SubsidyClaimFactory()
    assert claim.level_certificate.assessment.training_certificate == claim.training_certificate
    assert (
        claim.training_certificate.enrolment.plan.filing_authority
        == claim.training_certificate.institution.city.bureau
    )
    assert claim.bureau.city == claim.trainee.household_city


def test_personas_exist(
    hangzhou_reviewer, ningbo_reviewer, provincial_staff, institution_staff, evaluation_staff, trainee_user
):
    assert hangzhou_reviewer.bureau.city.code == "330100"
    assert ningbo_reviewer.bureau.city.code == "330200"
    assert trainee_user.trainee.household_city.code == "330100"
    assert institution_staff.groups.filter(name="institution_staff").exists()
