# Issue 18, step 3 of 3 (docs/pii.md): the constraints and indexes, now on the blind indexes.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0004_pii_encrypt"),
    ]

    operations = [
        migrations.AddIndex(
            model_name='onetimecode',
            index=models.Index(fields=['resident_id_index', 'purpose', '-created_at'], name='portal_code_lookup_idx'),
        ),
        migrations.AddConstraint(
            model_name='activationguard',
            constraint=models.UniqueConstraint(fields=('resident_id_index',), name='portal_activationguard_resident_id_unique', violation_error_message='This resident ID number already has an activation lock.'),
        ),
    ]
