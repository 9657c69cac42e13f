"""Test support: flushing a SQLite test database whose append-only tables refuse DELETE.

PostgreSQL flushes with TRUNCATE, which row triggers do not see. SQLite flushes with DELETE,
which the append-only triggers refuse, so a transactional test (the live server, real
concurrency) that wrote a claim event, a plan event or an access-log row could not be torn
down. ``allow_sqlite_flush_of_append_only_tables`` (called from the root conftest) makes the
flush lift those DELETE triggers for the flush itself and put them back from the migrations'
own SQL. Only the test run is affected: ``manage.py flush`` on a real database is untouched.
"""

from __future__ import annotations

import importlib

# (migration module, names of the DELETE triggers it creates on SQLite)
_SOURCES = [
    (
        "subsidies.migrations.0006_claimevent_chain_required",
        "SQLITE_TRIGGERS",
        "subsidies_claimevent_no_delete",
    ),
    (
        "institutions.migrations.0003_planevent_chain_required",
        "SQLITE_FORWARD",
        "institutions_planevent_no_delete",
    ),
    (
        "trainees.migrations.0005_attendance_guards_and_opening_totals",
        "SQLITE_FORWARD",
        "trainees_attendance_no_delete",
    ),
    ("audit.migrations.0002_database_guards", "SQLITE_FORWARD", "audit_accesslog_no_delete"),
    ("audit.migrations.0002_database_guards", "SQLITE_FORWARD", "audit_accesslogarchive_no_delete"),
]


def _delete_triggers() -> dict[str, str]:
    triggers = {}
    for module_name, attribute, trigger in _SOURCES:
        statements = getattr(importlib.import_module(module_name), attribute)
        (create,) = [sql for sql in statements if "CREATE TRIGGER" in sql and f" {trigger} " in sql]
        triggers[trigger] = create.strip()
    return triggers


def allow_sqlite_flush_of_append_only_tables() -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    DatabaseOperations = type(connection.ops)
    if getattr(DatabaseOperations.sql_flush, "_append_only_aware", False):
        return
    original = DatabaseOperations.sql_flush
    triggers = _delete_triggers()

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        drops = [f"DROP TRIGGER IF EXISTS {name};" for name in triggers]
        return drops + statements + [sql + ";" for sql in triggers.values()]

    sql_flush._append_only_aware = True
    DatabaseOperations.sql_flush = sql_flush
