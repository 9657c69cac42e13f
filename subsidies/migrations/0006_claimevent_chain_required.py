from django.db import migrations, models

# SQLite rebuilds the table to alter a column, which drops its triggers: put the append-only
# triggers of 0002 back (PostgreSQL alters in place and keeps them).
SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS subsidies_claimevent_no_update",
    "DROP TRIGGER IF EXISTS subsidies_claimevent_no_delete",
    """
    CREATE TRIGGER subsidies_claimevent_no_update BEFORE UPDATE ON subsidies_claimevent
    BEGIN SELECT RAISE(ABORT, 'subsidies_claimevent is append-only'); END
    """,
    """
    CREATE TRIGGER subsidies_claimevent_no_delete BEFORE DELETE ON subsidies_claimevent
    BEGIN SELECT RAISE(ABORT, 'subsidies_claimevent is append-only'); END
    """,
]


def restore_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in SQLITE_TRIGGERS:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0005_claimevent_chain")]

    operations = [
        migrations.AlterField(
            model_name="claimevent",
            name="chain_seq",
            field=models.BigIntegerField(editable=False, verbose_name="chain position"),
        ),
        migrations.AddConstraint(
            model_name="claimevent",
            constraint=models.UniqueConstraint(
                fields=("chain_seq",), name="subsidies_claimevent_chain_seq_unique"
            ),
        ),
        migrations.RunPython(restore_sqlite_triggers, restore_sqlite_triggers),
    ]
