"""Resident ID numbers are masked in every response, except to the trainee themselves and
on the claim detail read by the claim's own bureau."""

from __future__ import annotations

import pytest

from core.identity import generate_resident_id, mask_resident_id

pytestmark = pytest.mark.django_db

READ_URLS = [
    "/api/v1/trainees/",
    "/api/v1/trainees/{trainee}/",
    "/api/v1/enrolments/",
    "/api/v1/enrolments/{enrolment}/",
    "/api/v1/training-certificates/",
    "/api/v1/level-assessments/",
    "/api/v1/level-certificates/",
    "/api/v1/claims/",
    "/api/v1/plans/",
    "/api/v1/public/plans/",
]


def _urls(world):
    return [u.format(trainee=world.own["trainee"].pk, enrolment=world.own["enrolment"].pk) for u in READ_URLS]


@pytest.mark.parametrize(
    "persona", ["provincial_staff", "hangzhou_reviewer", "institution_staff", "evaluation_staff"]
)
def test_staff_never_see_a_full_resident_id_in_lists_and_records(request, api_client_of, world, persona):
    client = api_client_of(request.getfixturevalue(persona))
    full, masked = world.own["trainee"].resident_id, mask_resident_id(world.own["trainee"].resident_id)
    seen_masked = False
    for url in _urls(world):
        response = client.get(url)
        if response.status_code != 200:
            continue
        text = response.content.decode()
        assert full not in text, url
        seen_masked = seen_masked or masked in text
    assert seen_masked


def test_the_claims_own_bureau_sees_the_full_number_on_the_claim_detail_only(
    api_client_of, world, hangzhou_reviewer
):
    client = api_client_of(hangzhou_reviewer)
    claim, full = world.own["claim"], world.own["trainee"].resident_id
    assert client.get(f"/api/v1/claims/{claim.pk}/").json()["trainee_resident_id"] == full
    listed = client.get("/api/v1/claims/").json()["results"]
    assert {c["trainee_resident_id"] for c in listed if c["id"] == claim.pk} == {mask_resident_id(full)}


def test_provincial_staff_see_the_claim_detail_masked(api_client_of, world, provincial_staff):
    claim = world.own["claim"]
    body = api_client_of(provincial_staff).get(f"/api/v1/claims/{claim.pk}/").json()
    assert body["trainee_resident_id"] == mask_resident_id(world.own["trainee"].resident_id)


def test_the_trainee_sees_their_own_full_number(api_client_of, world, trainee_user):
    client = api_client_of(trainee_user)
    full = world.own["trainee"].resident_id
    assert client.get("/api/v1/trainees/me/").json()["resident_id"] == full
    assert client.get(f"/api/v1/claims/{world.own['claim'].pk}/").json()["trainee_resident_id"] == full
    assert client.get("/api/v1/level-certificates/").json()["results"][0]["trainee_resident_id"] == full


def test_institution_staff_get_the_masked_number_back_when_registering(
    api_client_of, institution_staff, hangzhou
):
    number = generate_resident_id(area="330106", birth="19960202", sequence=11)
    response = api_client_of(institution_staff).post(
        "/api/v1/trainees/",
        {"resident_id": number, "name": "周九", "category": "professional", "household_city": hangzhou.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["resident_id"] == mask_resident_id(number)
    assert number not in response.content.decode()


def test_registering_a_bad_resident_id_names_the_field(api_client_of, institution_staff, hangzhou):
    response = api_client_of(institution_staff).post(
        "/api/v1/trainees/",
        {
            "resident_id": "330106199602021234",
            "name": "周九",
            "category": "professional",
            "household_city": hangzhou.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "resident_id" in response.json()["detail"]
