"""The claim list as it opens, and one claim by id, are read by queries compiled once per
scope (subsidies.api._CLAIM_READS, core/prepared.py): what they answer is what the ORM's
path answers, for every kind of reader."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.tests.factories import SubsidyClaimFactory

pytestmark = pytest.mark.django_db

READERS = ["provincial_staff", "hangzhou_reviewer", "trainee_user", "nb_trainee"]


@pytest.fixture
def many_claims(world):
    for side in (world.own, world.other):
        for status in ClaimStatus.values:
            SubsidyClaimFactory(
                status=status,
                bureau=side["bureau"],
                level_certificate__assessment__training_certificate__enrolment__plan=side["plan"],
            )
    # The trainee's own claims: more than one page of two.
    for status in (ClaimStatus.WITHDRAWN, ClaimStatus.REJECTED):
        SubsidyClaimFactory(
            status=status,
            bureau=world.own["bureau"],
            trainee=world.own["trainee"],
            level_certificate__assessment__training_certificate__enrolment__plan=world.own["plan"],
        )
    return world


def _reader(request, world, name):
    if name == "nb_trainee":
        return world.other["trainee"].user
    return request.getfixturevalue(name)


def _list(client, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/claims/", params)
    prepared = any("COUNT(*) FROM (SELECT" in query["sql"] for query in captured)
    return response, prepared


@pytest.mark.parametrize("reader", READERS)
def test_the_list_as_it_opens_answers_what_the_orm_answers(request, many_claims, api_client_of, reader):
    client = api_client_of(_reader(request, many_claims, reader))
    for page in ({}, {"page_size": 2}, {"page_size": 2, "page": 2}):
        prepared, took_prepared = _list(client, **page)
        # The default order, asked for: the ORM's path, with its filters and ordering.
        orm, took_orm = _list(client, ordering="-submitted_at,-id", **page)
        assert (took_prepared, took_orm) == (True, False)
        assert prepared.status_code == orm.status_code
        if page.get("page") == 2 and prepared.status_code == 404:
            continue  # a reader with two claims or fewer: no second page on either path
        assert prepared.status_code == 200
        assert prepared.json()["count"] == orm.json()["count"] > 0
        assert prepared.json()["results"] == orm.json()["results"]
        assert bool(prepared.json()["next"]) == bool(orm.json()["next"])
        assert bool(prepared.json()["previous"]) == bool(orm.json()["previous"])


def test_the_list_shows_the_readers_claims_and_no_others(many_claims, hangzhou_reviewer, api_client_of):
    response, prepared = _list(api_client_of(hangzhou_reviewer), page_size=200)
    assert prepared
    ids = {claim["id"] for claim in response.json()["results"]}
    assert ids == set(
        SubsidyClaim.objects.filter(bureau=many_claims.own["bureau"]).values_list("pk", flat=True)
    )
    own = api_client_of(many_claims.own["trainee"].user).get("/api/v1/claims/").json()["results"]
    assert {claim["id"] for claim in own} == set(
        SubsidyClaim.objects.filter(trainee=many_claims.own["trainee"]).values_list("pk", flat=True)
    )


def test_a_page_beyond_the_last_is_a_json_404_on_both_paths(many_claims, hangzhou_reviewer, api_client_of):
    client = api_client_of(hangzhou_reviewer)
    prepared, _ = _list(client, page=99)
    orm, _ = _list(client, page=99, ordering="-submitted_at,-id")
    assert prepared.status_code == orm.status_code == 404
    assert prepared.json()["code"] == orm.json()["code"] == "not_found"


@pytest.mark.parametrize("reader", READERS)
def test_one_claim_is_found_in_the_readers_scope_only(request, many_claims, api_client_of, reader):
    user = _reader(request, many_claims, reader)
    client = api_client_of(user)
    visible = {claim["id"] for claim in client.get("/api/v1/claims/", {"page_size": 200}).json()["results"]}
    for claim in SubsidyClaim.objects.all():
        response = client.get(f"/api/v1/claims/{claim.pk}/")
        if claim.pk in visible:
            assert response.status_code == 200, claim
            body = response.json()
            assert body["id"] == claim.pk
            assert body["rule_results"] == claim.rule_results
            assert [event["to_status"] for event in body["events"]] == list(
                claim.events.order_by("at", "id").values_list("to_status", flat=True)
            )
        else:
            assert response.status_code == 404, claim
            assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("pk", [str(2**63 - 1), str(2**63), "9" * 5000], ids=len)
@pytest.mark.parametrize("action", ["", "withdraw/"])
def test_an_id_beyond_any_claims_is_a_json_404(world, trainee_user, api_client_of, pk, action):
    # 5,000 digits: more than Python turns into an int from a string (4,300).
    client = api_client_of(trainee_user)
    response = (
        client.get(f"/api/v1/claims/{pk}/") if not action else client.post(f"/api/v1/claims/{pk}/{action}")
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_leading_zeros_in_an_id_are_ignored_as_the_orms_lookup_ignored_them(
    world, trainee_user, api_client_of
):
    claim = world.own["claim"]
    response = api_client_of(trainee_user).get(f"/api/v1/claims/{'0' * 30}{claim.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == claim.pk
