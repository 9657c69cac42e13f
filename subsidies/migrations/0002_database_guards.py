"""Invariants the ORM cannot declare portably, held by the database itself.

- Subsidy standards for one occupation and level never overlap in time: an exclusion
  constraint on PostgreSQL (btree_gist), BEFORE INSERT/UPDATE triggers on SQLite.
- Claim events are append-only: UPDATE and DELETE raise, whoever issues them.
- The policy settings row exists from the start.
"""

from django.db import migrations

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    ALTER TABLE subsidies_subsidystandard
    ADD CONSTRAINT subsidies_subsidystandard_no_overlap
    EXCLUDE USING gist (
        occupation_id WITH =,
        level WITH =,
        daterange(effective_from, effective_to, '[]') WITH &&
    )
    """,
    """
    CREATE OR REPLACE FUNCTION subsidies_claimevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'subsidies_claimevent is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER subsidies_claimevent_append_only
    BEFORE UPDATE OR DELETE ON subsidies_claimevent
    FOR EACH ROW EXECUTE FUNCTION subsidies_claimevent_append_only()
    """,
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS subsidies_claimevent_append_only ON subsidies_claimevent",
    "DROP FUNCTION IF EXISTS subsidies_claimevent_append_only()",
    "ALTER TABLE subsidies_subsidystandard DROP CONSTRAINT IF EXISTS subsidies_subsidystandard_no_overlap",
]

_SQLITE_OVERLAP = """
    CREATE TRIGGER subsidies_subsidystandard_no_overlap_{op}
    BEFORE {OP} ON subsidies_subsidystandard
    WHEN EXISTS (
        SELECT 1 FROM subsidies_subsidystandard s
        WHERE s.occupation_id = NEW.occupation_id AND s.level = NEW.level
          {self_clause}
          AND (NEW.effective_to IS NULL OR s.effective_from <= NEW.effective_to)
          AND (s.effective_to IS NULL OR s.effective_to >= NEW.effective_from)
    )
    BEGIN
        SELECT RAISE(ABORT, 'subsidies_subsidystandard_no_overlap');
    END
"""
SQLITE_FORWARD = [
    _SQLITE_OVERLAP.format(op="insert", OP="INSERT", self_clause=""),
    _SQLITE_OVERLAP.format(op="update", OP="UPDATE", self_clause="AND s.id <> NEW.id"),
    """
    CREATE TRIGGER subsidies_claimevent_no_update BEFORE UPDATE ON subsidies_claimevent
    BEGIN SELECT RAISE(ABORT, 'subsidies_claimevent is append-only'); END
    """,
    """
    CREATE TRIGGER subsidies_claimevent_no_delete BEFORE DELETE ON subsidies_claimevent
    BEGIN SELECT RAISE(ABORT, 'subsidies_claimevent is append-only'); END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS subsidies_subsidystandard_no_overlap_insert",
    "DROP TRIGGER IF EXISTS subsidies_subsidystandard_no_overlap_update",
    "DROP TRIGGER IF EXISTS subsidies_claimevent_no_update",
    "DROP TRIGGER IF EXISTS subsidies_claimevent_no_delete",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


def create_policy_settings(apps, schema_editor):
    PolicySettings = apps.get_model("subsidies", "PolicySettings")
    PolicySettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
        migrations.RunPython(create_policy_settings, migrations.RunPython.noop),
    ]
