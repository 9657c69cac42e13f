# Issue 18, step 2 of 3 (docs/pii.md): blind indexes computed from the plaintext, then the
# values encrypted under the active key. Names only, never the model, so it runs at any
# later state. Not atomic: each batch of 500 rows is its own short transaction, and a run
# that stopped half-way is simply run again (encrypted values and filled indexes are skipped).
# Keys must be configured where migrations run.

from django.db import migrations

from core.identity import normalize_account_number, normalize_phone, normalize_resident_id
from core.pii_rotation import PlainColumn, encrypt_columns_migration

forward, backward = encrypt_columns_migration(
    [
        PlainColumn(
            table="trainees_trainee",
            column="resident_id",
            context="trainees.trainee.resident_id",
            index_column="resident_id_index",
            domain="resident_id",
            normalizer=normalize_resident_id,
        ),
        PlainColumn(
            table="trainees_trainee",
            column="phone",
            context="trainees.trainee.phone",
            index_column="phone_index",
            domain="phone",
            normalizer=normalize_phone,
        ),
        PlainColumn(
            table="trainees_trainee",
            column="bank_account",
            context="trainees.trainee.bank_account",
            index_column="bank_account_index",
            domain="account",
            normalizer=normalize_account_number,
        ),
        PlainColumn(
            table="trainees_application",
            column="resident_id",
            context="trainees.application.resident_id",
            index_column="resident_id_index",
            domain="resident_id",
            normalizer=normalize_resident_id,
        ),
        PlainColumn(
            table="trainees_application",
            column="phone",
            context="trainees.application.phone",
            index_column="phone_index",
            domain="phone",
            normalizer=normalize_phone,
        ),
    ]
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("trainees", "0011_pii_expand"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
