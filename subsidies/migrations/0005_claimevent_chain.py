"""Claim events join the audit hash chains (audit.chain): the columns, and the existing rows chained."""

from django.db import migrations, models

from audit.migration_helpers import chain_existing_rows

# Frozen copy of ClaimEvent.chain_fields at the time the chain began.
CHAIN_FIELDS = ("claim_id", "actor_id", "at", "from_status", "to_status", "reason")
SQLITE_NO_UPDATE = (
    "DROP TRIGGER IF EXISTS subsidies_claimevent_no_update",
    """
    CREATE TRIGGER subsidies_claimevent_no_update BEFORE UPDATE ON subsidies_claimevent
    BEGIN SELECT RAISE(ABORT, 'subsidies_claimevent is append-only'); END
    """,
)


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0004_claim_payee_account"), ("audit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="claimevent",
            name="chain_seq",
            field=models.BigIntegerField(editable=False, null=True, verbose_name="chain position"),
        ),
        migrations.AddField(
            model_name="claimevent",
            name="chain_hash",
            field=models.CharField(
                default="", editable=False, max_length=64, verbose_name="chain hash (SM3)"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(
            chain_existing_rows(
                app_label="subsidies",
                model_name="ClaimEvent",
                field_names=CHAIN_FIELDS,
                pg_trigger="subsidies_claimevent_append_only",
                sqlite_trigger_sql=SQLITE_NO_UPDATE,
            ),
            migrations.RunPython.noop,
        ),
    ]
