"""Helpers for the migrations that chain an existing append-only table (subsidies, institutions).

Adding a chain to a table that already has rows: add ``chain_seq`` (nullable) and
``chain_hash``, chain the existing rows in primary-key order with the table's append-only
trigger lifted for that one statement batch, then make ``chain_seq`` required and unique
(in a second migration, so PostgreSQL alters the table in another transaction).
"""

from __future__ import annotations

from audit.chain import backfill_chain


def chain_existing_rows(
    *, app_label: str, model_name: str, field_names, pg_trigger: str = "", sqlite_trigger_sql=()
):
    """A ``RunPython`` forward function; ``sqlite_trigger_sql`` is ``(drop, create)``."""

    def forward(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        head_model = apps.get_model("audit", "ChainHead")
        chain = f"{app_label}.{model_name.lower()}"
        # The head exists from the start, so appending never has to create it.
        head_model.objects.get_or_create(chain=chain)
        if not model._base_manager.filter(chain_seq__isnull=True).exists():
            return
        table = model._meta.db_table
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql" and pg_trigger:
            schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {pg_trigger}")
        if vendor == "sqlite" and sqlite_trigger_sql:
            schema_editor.execute(sqlite_trigger_sql[0])
        backfill_chain(
            model,
            chain=chain,
            field_names=field_names,
            head_model=head_model,
        )
        if vendor == "postgresql" and pg_trigger:
            # No deferred foreign-key checks may be pending when a table is altered.
            schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {pg_trigger}")
        if vendor == "sqlite" and sqlite_trigger_sql:
            schema_editor.execute(sqlite_trigger_sql[1])

    return forward
