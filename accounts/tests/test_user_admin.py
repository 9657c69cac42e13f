import pytest
from django.urls import reverse

from accounts.models import Role, User


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="x-long-pass")


@pytest.mark.django_db
def test_provincial_staff_list_users_by_role_and_organisation(provincial_staff, hangzhou_reviewer, client_of):
    response = client_of(provincial_staff).get(reverse("admin:accounts_user_changelist"), {"role": "bureau"})
    assert response.status_code == 200
    assert b"hz_reviewer" in response.content
    assert "杭州市人力资源和社会保障局" in response.content.decode()


@pytest.mark.django_db
def test_a_bureau_reviewer_cannot_open_the_user_pages(hangzhou_reviewer, client_of):
    client = client_of(hangzhou_reviewer)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_change", args=[hangzhou_reviewer.pk])).status_code == 403


@pytest.mark.django_db
def test_provincial_staff_add_a_reviewer_who_joins_the_reviewer_group(
    provincial_staff, ningbo_bureau, client_of
):
    response = client_of(provincial_staff).post(
        reverse("admin:accounts_user_add"),
        {
            "username": "nb_second",
            "usable_password": "true",
            "password1": "a-long-password-1",
            "password2": "a-long-password-1",
            "role": "bureau",
            "bureau": ningbo_bureau.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    user = User.objects.get(username="nb_second")
    assert user.role == Role.BUREAU and user.bureau == ningbo_bureau and user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["bureau_reviewer"]


@pytest.mark.django_db
def test_adding_a_reviewer_without_a_bureau_shows_the_error_and_creates_nothing(provincial_staff, client_of):
    response = client_of(provincial_staff).post(
        reverse("admin:accounts_user_add"),
        {
            "username": "lost",
            "usable_password": "true",
            "password1": "a-long-password-1",
            "password2": "a-long-password-1",
            "role": "bureau",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["bureau"]
    assert not User.objects.filter(username="lost").exists()


@pytest.mark.django_db
def test_provincial_staff_cannot_change_a_superuser_nor_see_the_superuser_flag(
    provincial_staff, superuser, hangzhou_reviewer, client_of
):
    client = client_of(provincial_staff)
    page = client.get(reverse("admin:accounts_user_change", args=[hangzhou_reviewer.pk]))
    assert page.status_code == 200
    assert "is_superuser" not in page.context["adminform"].form.fields
    response = client.post(
        reverse("admin:accounts_user_change", args=[superuser.pk]), {"username": "root", "is_active": ""}
    )
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_active


@pytest.mark.django_db
def test_changing_a_users_role_in_the_admin_moves_the_group(
    superuser, hangzhou_reviewer, institution, client_of
):
    url = reverse("admin:accounts_user_change", args=[hangzhou_reviewer.pk])
    response = client_of(superuser).post(
        url,
        {
            "username": "hz_reviewer",
            "role": "institution",
            "institution": institution.pk,
            "is_active": "on",
            "is_staff": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    hangzhou_reviewer.refresh_from_db()
    assert hangzhou_reviewer.institution == institution and hangzhou_reviewer.bureau is None
    assert list(hangzhou_reviewer.groups.values_list("name", flat=True)) == ["institution_staff"]
