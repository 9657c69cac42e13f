"""core.prepared.PreparedObjects: model instances from a query compiled once, as the ORM
would load them (related rows, deferred columns, converted values)."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from core.prepared import Param, PreparedList, PreparedObjects
from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.tests.factories import SubsidyClaimFactory

pytestmark = pytest.mark.django_db

STATUS = Param("status", models.CharField())


COLUMNS = ("id", "amount", "submitted_at", "status", "trainee__name", "trainee__resident_id", "bureau__name")


def _claims(status=STATUS):
    return (
        SubsidyClaim.objects.filter(status=status)
        .select_related("trainee", "bureau", "measure")
        .only(*COLUMNS, "measure__title")
        .order_by("-submitted_at", "-id")
    )


@pytest.fixture
def claims(db):
    made = [SubsidyClaimFactory(status=ClaimStatus.SUBMITTED) for _ in range(5)]
    SubsidyClaimFactory(status=ClaimStatus.APPROVED)
    return made


def test_the_instances_are_the_orms_with_their_related_rows_and_deferred_columns(claims):
    query = PreparedObjects(_claims)
    expected = list(_claims(ClaimStatus.SUBMITTED))
    got = query.objects(status=ClaimStatus.SUBMITTED)
    assert [claim.pk for claim in got] == [claim.pk for claim in expected]
    with CaptureQueriesContext(connection) as captured:
        for mine, theirs in zip(got, expected, strict=True):
            assert (mine.amount, mine.submitted_at, mine.status) == (
                theirs.amount,
                theirs.submitted_at,
                theirs.status,
            )
            # Related rows came with the claim, their columns converted (the resident id decrypted).
            assert (mine.trainee.name, mine.trainee.resident_id) == (
                theirs.trainee.name,
                theirs.trainee.resident_id,
            )
            assert mine.bureau.name == theirs.bureau.name
            assert mine.measure is None and theirs.measure is None
            assert mine.get_deferred_fields() == theirs.get_deferred_fields()
            assert mine.trainee.get_deferred_fields() == theirs.trainee.get_deferred_fields()
    assert len(captured) == 0
    # A deferred column loads on reading, as the ORM's would.
    assert got[0].claim_year == expected[0].claim_year


def test_a_page_a_count_and_the_first_row(claims):
    query = PreparedObjects(_claims)
    everything = [claim.pk for claim in query.objects(status=ClaimStatus.SUBMITTED)]
    assert query.count(status=ClaimStatus.SUBMITTED) == 5
    assert query.count(status=ClaimStatus.PAID) == 0
    assert [c.pk for c in query.objects(status=ClaimStatus.SUBMITTED, limit=2, offset=1)] == everything[1:3]
    assert query.first(status=ClaimStatus.SUBMITTED).pk == everything[0]
    assert query.first(status=ClaimStatus.PAID) is None
    pages = PreparedList(query, {"status": ClaimStatus.SUBMITTED})
    assert pages.count() == 5
    assert [c.pk for c in pages[3:6]] == everything[3:]
    with pytest.raises(TypeError):
        pages[0]


@pytest.mark.parametrize(
    "build",
    [
        lambda: SubsidyClaim.objects.filter(status=STATUS).values("id"),
        lambda: SubsidyClaim.objects.filter(status=STATUS).annotate(n=Count("events")),
        lambda: SubsidyClaim.objects.filter(status=STATUS)[:5],
    ],
    ids=["values", "annotate", "sliced"],
)
def test_a_query_that_does_not_select_whole_rows_is_refused(claims, build):
    with pytest.raises(TypeError):
        PreparedObjects(build).objects(status=ClaimStatus.SUBMITTED)
