"""Plan events are append-only, like claim events (``subsidies`` migration 0002): UPDATE and
DELETE raise in the database, whoever issues them."""

from django.db import migrations

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION institutions_planevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'institutions_planevent is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER institutions_planevent_append_only
    BEFORE UPDATE OR DELETE ON institutions_planevent
    FOR EACH ROW EXECUTE FUNCTION institutions_planevent_append_only()
    """,
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS institutions_planevent_append_only ON institutions_planevent",
    "DROP FUNCTION IF EXISTS institutions_planevent_append_only()",
]
SQLITE_FORWARD = [
    """
    CREATE TRIGGER institutions_planevent_no_update BEFORE UPDATE ON institutions_planevent
    BEGIN SELECT RAISE(ABORT, 'institutions_planevent is append-only'); END
    """,
    """
    CREATE TRIGGER institutions_planevent_no_delete BEFORE DELETE ON institutions_planevent
    BEGIN SELECT RAISE(ABORT, 'institutions_planevent is append-only'); END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS institutions_planevent_no_update",
    "DROP TRIGGER IF EXISTS institutions_planevent_no_delete",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("institutions", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
