# Issue 18, step 2 of 3 (docs/pii.md): blind indexes computed from the plaintext, then the
# values encrypted under the active key. Names only, never the model, so it runs at any
# later state. Not atomic: each batch of 500 rows is its own short transaction, and a run
# that stopped half-way is simply run again (encrypted values and filled indexes are skipped).
# Keys must be configured where migrations run.

from django.db import migrations

from core.identity import normalize_account_number, normalize_resident_id
from core.pii_rotation import PlainColumn, encrypt_columns_migration

forward, backward = encrypt_columns_migration(
    [
        PlainColumn(
            table="subsidies_subsidyclaim",
            column="payee_account",
            context="subsidies.subsidyclaim.payee_account",
            index_column="payee_account_index",
            domain="account",
            normalizer=normalize_account_number,
        ),
        PlainColumn(
            table="subsidies_externalsubsidyrecord",
            column="resident_id",
            context="subsidies.externalsubsidyrecord.resident_id",
            index_column="resident_id_index",
            domain="resident_id",
            normalizer=normalize_resident_id,
        ),
    ]
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("subsidies", "0010_pii_expand"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
