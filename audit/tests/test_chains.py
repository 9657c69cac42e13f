"""Claim events, plan events and the access log are hash chains: ``verify_audit`` finds every
change and removal made behind the application's back, and tells provincial staff."""

import pytest
from django.core.management import call_command

from accounts.models import Message, MessageKind
from audit.chain import GENESIS, row_hash, verify_chain
from audit.models import AccessLog, ChainHead
from audit.services import audit_verify
from audit.tasks import verify_audit_chains
from audit.tests.conftest import as_database_user
from institutions.models import PlanEvent
from subsidies.models import ClaimEvent

pytestmark = pytest.mark.django_db


def run_verify_audit(capsys) -> tuple[int, str]:
    try:
        call_command("verify_audit")
    except SystemExit as exc:
        return exc.code, capsys.readouterr().out
    return 0, capsys.readouterr().out


def test_each_row_links_to_the_one_before(claim_events):
    previous = GENESIS
    for position, event in enumerate(claim_events, start=1):
        assert event.chain_seq == position
        assert event.chain_hash == row_hash(
            "subsidies.claimevent",
            position,
            previous,
            {name: getattr(event, name) for name in ClaimEvent.chain_fields},
        )
        previous = event.chain_hash
    head = ChainHead.objects.get(chain="subsidies.claimevent")
    assert (head.seq, head.head_hash) == (5, previous)


def test_intact_chains_verify_and_the_command_exits_zero(claim_events, plan_events, access_entries, capsys):
    assert all(report.ok for report in audit_verify())
    code, out = run_verify_audit(capsys)
    assert code == 0
    assert "subsidies.claimevent: 5 row(s)" in out
    assert "institutions.planevent: 3 row(s)" in out


def test_a_claim_event_changed_with_raw_sql_is_found(claim_events, capsys):
    target = claim_events[1]
    as_database_user(
        "subsidies_claimevent",
        "UPDATE subsidies_claimevent SET reason = %s WHERE id = %s",
        ["改过", target.pk],
    )
    report = verify_chain(ClaimEvent)
    assert not report.ok and report.seq == 2 and report.pk == target.pk
    code, out = run_verify_audit(capsys)
    assert code == 1
    assert "BROKEN  subsidies.claimevent" in out and "位置 2" in out


def test_a_changed_status_with_its_hash_recomputed_is_still_found_at_the_next_row(claim_events):
    """Whoever rewrites one row's hash breaks the link of the row after it."""
    target = claim_events[2]
    forged = row_hash(
        "subsidies.claimevent",
        3,
        claim_events[1].chain_hash,
        {**{name: getattr(target, name) for name in ClaimEvent.chain_fields}, "to_status": "rejected"},
    )
    as_database_user(
        "subsidies_claimevent",
        "UPDATE subsidies_claimevent SET to_status = 'rejected', chain_hash = %s WHERE id = %s",
        [forged, target.pk],
    )
    report = verify_chain(ClaimEvent)
    assert not report.ok and report.seq == 4


def test_a_claim_event_deleted_in_the_middle_is_found(claim_events, capsys):
    as_database_user(
        "subsidies_claimevent", "DELETE FROM subsidies_claimevent WHERE id = %s", [claim_events[2].pk]
    )
    report = verify_chain(ClaimEvent)
    assert not report.ok and report.seq == 3
    assert "缺失" in report.problem or "missing" in report.problem
    assert run_verify_audit(capsys)[0] == 1


def test_the_last_claim_events_deleted_are_found_against_the_head(claim_events, capsys):
    as_database_user(
        "subsidies_claimevent",
        "DELETE FROM subsidies_claimevent WHERE id IN (%s, %s)",
        [e.pk for e in claim_events[3:]],
    )
    report = verify_chain(ClaimEvent)
    assert not report.ok and report.seq == 4
    assert run_verify_audit(capsys)[0] == 1


def test_a_row_inserted_behind_the_applications_back_is_found(claim_events):
    last = claim_events[-1]
    as_database_user(
        "subsidies_claimevent",
        "INSERT INTO subsidies_claimevent (claim_id, at, from_status, to_status, reason, chain_seq, chain_hash) "
        "VALUES (%s, %s, 'submitted', 'approved', '', %s, %s)",
        [last.claim_id, last.at, 6, "f" * 64],
    )
    report = verify_chain(ClaimEvent)
    assert not report.ok and report.seq == 6


def test_a_plan_event_changed_with_raw_sql_is_found(plan_events, capsys):
    as_database_user(
        "institutions_planevent",
        "UPDATE institutions_planevent SET to_status = 'returned' WHERE id = %s",
        [plan_events[2].pk],
    )
    assert verify_chain(PlanEvent).seq == 3
    assert run_verify_audit(capsys)[0] == 1


def test_a_plan_event_deleted_with_raw_sql_is_found(plan_events):
    as_database_user(
        "institutions_planevent", "DELETE FROM institutions_planevent WHERE id = %s", [plan_events[0].pk]
    )
    assert verify_chain(PlanEvent).seq == 1


def test_an_access_log_row_changed_or_deleted_with_raw_sql_is_found(access_entries, capsys):
    as_database_user(
        "audit_accesslog",
        "UPDATE audit_accesslog SET username = 'nobody' WHERE id = %s",
        [access_entries[1].pk],
    )
    assert verify_chain(AccessLog).seq == 2
    assert run_verify_audit(capsys)[0] == 1


def test_an_access_log_row_deleted_with_raw_sql_is_found(access_entries):
    as_database_user("audit_accesslog", "DELETE FROM audit_accesslog WHERE id = %s", [access_entries[0].pk])
    assert verify_chain(AccessLog).seq == 1


def test_an_encrypted_address_swapped_between_rows_is_found(access_entries):
    """Key rotation may rewrite the ciphertext, but the chain covers the plaintext."""
    a, b = access_entries[0], access_entries[1]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT address FROM audit_accesslog WHERE id = %s", [b.pk])
        (stolen,) = cursor.fetchone()
    # Allowed by the trigger (only the address changes), yet the chain sees it.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_accesslog SET address = %s WHERE id = %s", [stolen, a.pk])
    report = verify_chain(AccessLog)
    assert not report.ok and report.seq == a.chain_seq


def test_the_database_refuses_changes_and_deletions_from_the_application_user(
    claim_events, plan_events, access_entries
):
    from django.db import connection, transaction

    statements = [
        ("UPDATE subsidies_claimevent SET reason = 'x' WHERE id = %s", claim_events[0].pk),
        ("DELETE FROM subsidies_claimevent WHERE id = %s", claim_events[0].pk),
        ("UPDATE institutions_planevent SET reason = 'x' WHERE id = %s", plan_events[0].pk),
        ("DELETE FROM institutions_planevent WHERE id = %s", plan_events[0].pk),
        ("UPDATE audit_accesslog SET username = 'x' WHERE id = %s", access_entries[0].pk),
        ("DELETE FROM audit_accesslog WHERE id = %s", access_entries[0].pk),
    ]
    for sql, pk in statements:
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])
    assert all(report.ok for report in audit_verify())


def test_the_application_cannot_update_or_delete_chained_rows(claim_events, access_entries):
    for queryset in (ClaimEvent.objects.all(), AccessLog.objects.all(), PlanEvent.objects.all()):
        with pytest.raises(TypeError):
            queryset.update(reason="x") if queryset.model is not AccessLog else queryset.update(what="x")
        with pytest.raises(TypeError):
            queryset.delete()
    with pytest.raises(TypeError):
        claim_events[0].save()
    with pytest.raises(TypeError):
        access_entries[0].delete()


def test_the_nightly_check_tells_provincial_staff_of_a_broken_chain(
    claim_events, provincial_staff, hangzhou_reviewer
):
    assert verify_audit_chains.apply().get() == 0
    assert not Message.objects.exists()
    as_database_user(
        "subsidies_claimevent", "DELETE FROM subsidies_claimevent WHERE id = %s", [claim_events[0].pk]
    )
    assert verify_audit_chains.apply().get() == 1
    message = Message.objects.get()
    assert message.recipient == provincial_staff and message.kind == MessageKind.SYSTEM
    assert "subsidies.claimevent" in message.body
    assert not Message.objects.filter(recipient=hangzhou_reviewer).exists()


def test_the_nightly_schedule_runs_the_check(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-verify-chains"]
    assert entry["task"] == verify_audit_chains.name
