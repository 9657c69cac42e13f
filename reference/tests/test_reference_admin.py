import pytest
from django.urls import reverse

from reference.models import Occupation
from reference.services import reference_load


@pytest.fixture
def reference(db):
    reference_load()


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["city", "bureau", "occupation", "direction"])
def test_provincial_staff_browse_and_may_edit_reference_data(model, reference, provincial_staff, client_of):
    client = client_of(provincial_staff)
    assert client.get(reverse(f"admin:reference_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:reference_{model}_add")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["city", "bureau", "occupation", "direction"])
def test_bureau_reviewers_may_only_view_reference_data(model, reference, hangzhou_reviewer, client_of):
    client = client_of(hangzhou_reviewer)
    assert client.get(reverse(f"admin:reference_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:reference_{model}_add")).status_code == 403


@pytest.mark.django_db
def test_a_reviewer_posting_an_occupation_change_changes_nothing(reference, hangzhou_reviewer, client_of):
    occupation = Occupation.objects.get(short_name="大数据")
    url = reverse("admin:reference_occupation_change", args=[occupation.pk])
    response = client_of(hangzhou_reviewer).post(url, {"name": "改名", "short_name": "x"})
    assert response.status_code == 403
    occupation.refresh_from_db()
    assert occupation.name == "大数据工程技术人员"


@pytest.mark.django_db
def test_provincial_staff_correct_an_occupation_code_and_add_a_direction(
    reference, provincial_staff, client_of
):
    occupation = Occupation.objects.get(short_name="区块链")
    directions = list(occupation.directions.all())
    data = {
        "name": occupation.name,
        "short_name": occupation.short_name,
        "code_2021": occupation.code_2021,
        "code_2022": occupation.code_2022,
        "codes_confirmed": "on",
        "directions-TOTAL_FORMS": str(len(directions) + 1),
        "directions-INITIAL_FORMS": str(len(directions)),
        "directions-MIN_NUM_FORMS": "0",
        "directions-MAX_NUM_FORMS": "1000",
    }
    for i, direction in enumerate(directions):
        data[f"directions-{i}-id"] = str(direction.pk)
        data[f"directions-{i}-occupation"] = str(occupation.pk)
        data[f"directions-{i}-name"] = direction.name
    data[f"directions-{len(directions)}-occupation"] = str(occupation.pk)
    data[f"directions-{len(directions)}-name"] = "区块链应用设计"
    url = reverse("admin:reference_occupation_change", args=[occupation.pk])
    response = client_of(provincial_staff).post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    occupation.refresh_from_db()
    assert occupation.codes_confirmed
    assert occupation.directions.filter(name="区块链应用设计").exists()


@pytest.mark.django_db
def test_the_occupation_list_is_searchable_by_direction(reference, provincial_staff, client_of):
    response = client_of(provincial_staff).get(
        reverse("admin:reference_occupation_changelist"), {"q": "大数据分析"}
    )
    assert response.status_code == 200
    assert list(response.context["cl"].queryset.values_list("short_name", flat=True)) == ["大数据"]
