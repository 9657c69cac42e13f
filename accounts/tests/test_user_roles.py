import pytest
from django.core.exceptions import ValidationError

from accounts.models import Role, User
from accounts.services import user_create, user_set_role


def _role_groups(user):
    return set(user.groups.values_list("name", flat=True))


@pytest.mark.django_db
def test_a_new_bureau_reviewer_joins_the_reviewer_group_and_gets_admin_access(hangzhou_bureau):
    user = user_create(username="reviewer2", password="x-long-pass", role=Role.BUREAU, bureau=hangzhou_bureau)
    assert _role_groups(user) == {"bureau_reviewer"}
    assert user.is_staff
    assert user.has_perm("subsidies.change_subsidyclaim")
    assert not user.has_perm("reference.change_occupation")


@pytest.mark.django_db
def test_changing_the_role_moves_the_user_to_the_new_group_only(hangzhou_bureau, institution):
    user = user_create(username="someone", password=None, role=Role.BUREAU, bureau=hangzhou_bureau)
    user_set_role(user=user, role=Role.INSTITUTION, institution=institution)
    user = User.objects.get(pk=user.pk)  # permission caches are per instance
    assert _role_groups(user) == {"institution_staff"}
    assert user.has_perm("institutions.add_trainingplan")
    assert not user.has_perm("subsidies.change_subsidyclaim")


@pytest.mark.django_db
def test_a_trainee_has_no_admin_access(db):
    user = user_create(username="learner", password=None, role=Role.TRAINEE)
    assert not user.is_staff
    assert _role_groups(user) == {"trainee"}


@pytest.mark.django_db
def test_a_reviewer_without_a_bureau_is_refused_with_a_message_on_the_bureau_field(db):
    with pytest.raises(ValidationError) as excinfo:
        user_create(username="nobody", password=None, role=Role.BUREAU)
    assert excinfo.value.error_dict["bureau"][0].code == "role_needs_organisation"
    assert not User.objects.filter(username="nobody").exists()


@pytest.mark.django_db
def test_an_institution_clerk_cannot_also_name_a_bureau(hangzhou_bureau, institution):
    with pytest.raises(ValidationError) as excinfo:
        user_create(
            username="mixed",
            password=None,
            role=Role.INSTITUTION,
            institution=institution,
            bureau=hangzhou_bureau,
        )
    assert excinfo.value.error_dict["bureau"][0].code == "role_organisation_mismatch"


@pytest.mark.django_db
def test_provincial_staff_must_belong_to_the_province_not_a_city(hangzhou_bureau):
    with pytest.raises(ValidationError) as excinfo:
        user_create(username="prov2", password=None, role=Role.PROVINCIAL, bureau=hangzhou_bureau)
    assert excinfo.value.error_dict["bureau"][0].code == "role_bureau_kind"


@pytest.mark.django_db
def test_a_reviewer_reviews_for_its_own_bureau_only(
    hangzhou_reviewer, hangzhou_bureau, ningbo_bureau, provincial_staff, province_bureau, trainee_user
):
    assert hangzhou_reviewer.is_reviewer_of_bureau(hangzhou_bureau.pk)
    assert not hangzhou_reviewer.is_reviewer_of_bureau(ningbo_bureau.pk)
    assert not hangzhou_reviewer.is_reviewer_of_bureau(None)
    # Provincial staff decide the province's filings as provincial staff, not as reviewers.
    assert not provincial_staff.is_reviewer_of_bureau(province_bureau.pk)
    assert not trainee_user.is_reviewer_of_bureau(hangzhou_bureau.pk)


def test_the_api_knows_a_superuser_as_provincial_staff_and_a_user_without_a_role_as_none():
    from accounts.roles import BUREAU, PROVINCIAL

    assert User(is_superuser=True, role="").api_role == PROVINCIAL
    assert User(role=Role.BUREAU).api_role == BUREAU
    assert User(role="").api_role is None
