"""Helpers for the audit tests: rows in each chain, and raw SQL as a database user would run it."""

import base64
import json

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AccessKind
from audit.services import access_log_record
from institutions.models import PlanEvent
from institutions.tests.factories import TrainingPlanFactory
from subsidies.models import ClaimEvent
from subsidies.tests.factories import SubsidyClaimFactory

SQLITE_TRIGGERS = {
    "subsidies_claimevent": ["subsidies_claimevent_no_update", "subsidies_claimevent_no_delete"],
    "institutions_planevent": ["institutions_planevent_no_update", "institutions_planevent_no_delete"],
    "audit_accesslog": ["audit_accesslog_no_update", "audit_accesslog_no_delete"],
    "audit_accesslogarchive": ["audit_accesslogarchive_no_update", "audit_accesslogarchive_no_delete"],
}


def write_keys(path, active: str, keys: dict[str, bytes]) -> None:
    """A PII key file (docs/pii.md) at ``path``: ``keys`` by key id, ``active`` the one that
    encrypts, a fixed index key."""
    path.write_text(
        json.dumps(
            {
                "active": active,
                "keys": {kid: base64.b64encode(key).decode() for kid, key in keys.items()},
                "index_key": base64.b64encode(b"i" * 32).decode(),
            }
        )
    )


def as_database_user(table: str, sql: str, params=()) -> int:
    """Run ``sql`` the way the table's owner could: with its append-only triggers out of the way.

    The test's transaction rolls the trigger change back with everything else.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Check the deferred foreign keys now: PostgreSQL alters no table with pending checks.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            for trigger in SQLITE_TRIGGERS[table]:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        cursor.execute(sql, params)
        count = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return count


@pytest.fixture
def claim_events(db):
    """Five claim events (one claim's life and another claim's start), in the chain."""
    first, second = SubsidyClaimFactory(), SubsidyClaimFactory()
    steps = [(first, "", "submitted"), (first, "submitted", "approved"), (first, "approved", "paid")]
    steps += [(second, "", "submitted"), (second, "submitted", "rejected")]
    events = []
    for claim, before, after in steps:
        event = ClaimEvent(
            claim=claim, at=timezone.now(), from_status=before, to_status=after, reason="理由" * 2
        )
        event.save()
        events.append(event)
    return events


@pytest.fixture
def plan_events(db):
    plan = TrainingPlanFactory()
    return [
        PlanEvent.objects.create(plan=plan, from_status=before, to_status=after)
        for before, after in [("", "draft"), ("draft", "filed"), ("filed", "accepted")]
    ]


@pytest.fixture
def access_entries(db):
    return [
        access_log_record(kind=AccessKind.LOGIN_FAILED, username=f"user{n}", address=f"10.0.0.{n}")
        for n in range(1, 5)
    ]
