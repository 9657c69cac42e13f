# Issue 18, step 2 of 3 (docs/pii.md): blind indexes computed from the plaintext, then the
# values encrypted under the active key. Names only, never the model, so it runs at any
# later state. Not atomic: each batch of 500 rows is its own short transaction, and a run
# that stopped half-way is simply run again (encrypted values and filled indexes are skipped).
# Keys must be configured where migrations run.

from django.db import migrations

from core.pii_rotation import PlainColumn, encrypt_columns_migration

forward, backward = encrypt_columns_migration(
    [
        PlainColumn(table="payments_paymentitem", column="payee_resident_id", context="payments.paymentitem.payee_resident_id"),
        PlainColumn(table="payments_paymentitem", column="payee_account", context="payments.paymentitem.payee_account"),
    ]
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("payments", "0004_pii_expand"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
