# Issue 18, step 3 of 3 (docs/pii.md): the constraints and indexes, now on the blind indexes.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("subsidies", "0011_pii_encrypt"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='externalsubsidyrecord',
            constraint=models.UniqueConstraint(fields=('resident_id_index', 'kind', 'grant_date'), name='subsidies_externalsubsidyrecord_unique_grant', violation_error_message='This subsidy of this person on this date is already recorded.'),
        ),
    ]
