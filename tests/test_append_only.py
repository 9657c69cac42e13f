"""The event logs (claim events, plan events) are append-only: the ORM refuses to rewrite or
delete a row, and so does the database, whoever issues the SQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from institutions.models import PlanEvent, PlanStatus
from institutions.tests.factories import TrainingPlanFactory
from subsidies.models import ClaimEvent, ClaimStatus
from subsidies.tests.factories import SubsidyClaimFactory

pytestmark = pytest.mark.django_db


def plan_event() -> PlanEvent:
    plan = TrainingPlanFactory(status=PlanStatus.FILED)
    return PlanEvent.objects.create(plan=plan, from_status=PlanStatus.DRAFT, to_status=PlanStatus.FILED)


def claim_event() -> ClaimEvent:
    return ClaimEvent.objects.create(
        claim=SubsidyClaimFactory(), at=timezone.now(), from_status="", to_status=ClaimStatus.SUBMITTED
    )


@pytest.mark.parametrize("make_event", [plan_event, claim_event], ids=["plan", "claim"])
def test_the_orm_refuses_to_rewrite_or_delete_an_event(make_event):
    event = make_event()
    model = type(event)
    event.reason = "rewritten"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    with pytest.raises(TypeError, match="append-only"):
        model.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(TypeError, match="append-only"):
        model.objects.filter(pk=event.pk).delete()
    assert model.objects.get(pk=event.pk).reason == ""


def test_plan_events_are_append_only_in_the_database():
    event = plan_event()
    table = PlanEvent._meta.db_table
    for sql in (f"UPDATE {table} SET reason = 'rewritten'", f"DELETE FROM {table}"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert PlanEvent.objects.get(pk=event.pk).reason == ""


def test_new_plan_events_are_still_written_by_the_filing_services(institution_staff, institution):
    from institutions.services import plan_file

    plan = TrainingPlanFactory(institution=institution, status=PlanStatus.DRAFT)
    plan_file(plan=plan, actor=institution_staff)
    assert list(PlanEvent.objects.filter(plan=plan).values_list("to_status", flat=True)) == [PlanStatus.FILED]
