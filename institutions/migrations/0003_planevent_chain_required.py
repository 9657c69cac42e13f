"""Plan events: the chain position required and unique, and the table append-only in the database
(as claim events have been since subsidies 0002): UPDATE and DELETE raise, whoever issues them."""

from django.db import migrations, models

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
    dependencies = [("institutions", "0002_planevent_chain")]

    operations = [
        migrations.AlterField(
            model_name="planevent",
            name="chain_seq",
            field=models.BigIntegerField(editable=False, verbose_name="chain position"),
        ),
        migrations.AddConstraint(
            model_name="planevent",
            constraint=models.UniqueConstraint(
                fields=("chain_seq",), name="institutions_planevent_chain_seq_unique"
            ),
        ),
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
