# Issue 18, step 3 of 3 (docs/pii.md): the constraints and indexes, now on the blind indexes.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("trainees", "0012_pii_encrypt"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='application',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', ['pending', 'accepted'])), fields=('plan', 'resident_id_index'), name='trainees_application_once_per_plan', violation_error_message='This person has already applied for this class.'),
        ),
        migrations.AddConstraint(
            model_name='trainee',
            constraint=models.UniqueConstraint(fields=('resident_id_index',), name='trainees_trainee_resident_id_unique', violation_error_code='trainee_exists', violation_error_message='A trainee with this resident ID number is already registered.'),
        ),
        migrations.AddConstraint(
            model_name='trainee',
            constraint=models.CheckConstraint(condition=models.Q(('resident_id_index__isnull', False)), name='trainees_trainee_resident_id_present', violation_error_message='The resident ID number is required.'),
        ),
    ]
