"""Plan events join the audit hash chains (audit.chain): the columns, and the existing rows chained.

``at`` stops being ``auto_now_add`` (the hash is computed before the INSERT) and takes the
same value from ``default=timezone.now``.
"""

import django.utils.timezone
from django.db import migrations, models

from audit.migration_helpers import chain_existing_rows

# Frozen copy of PlanEvent.chain_fields at the time the chain began.
CHAIN_FIELDS = ("plan_id", "actor_id", "at", "from_status", "to_status", "reason")


class Migration(migrations.Migration):
    dependencies = [("institutions", "0001_initial"), ("audit", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="planevent",
            name="at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name="at"),
        ),
        migrations.AddField(
            model_name="planevent",
            name="chain_seq",
            field=models.BigIntegerField(editable=False, null=True, verbose_name="chain position"),
        ),
        migrations.AddField(
            model_name="planevent",
            name="chain_hash",
            field=models.CharField(
                default="", editable=False, max_length=64, verbose_name="chain hash (SM3)"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(
            chain_existing_rows(app_label="institutions", model_name="PlanEvent", field_names=CHAIN_FIELDS),
            migrations.RunPython.noop,
        ),
    ]
