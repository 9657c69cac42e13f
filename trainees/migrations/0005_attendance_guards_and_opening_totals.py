"""Attendance is append-only in the database, and existing hours become opening records.

- UPDATE and DELETE on ``trainees_attendance`` raise, whoever issues them (the model and
  its queryset refuse too; this holds for raw SQL and other clients).
- Every enrolment's ``hours_online`` / ``hours_offline`` typed in before attendance was
  kept becomes one opening record per mode (source ``opening``, no session), so the hours
  derived from attendance equal the totals the enrolment already had.
"""

from decimal import Decimal

from django.db import migrations
from django.utils import timezone

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION trainees_attendance_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'trainees_attendance is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER trainees_attendance_append_only
    BEFORE UPDATE OR DELETE ON trainees_attendance
    FOR EACH ROW EXECUTE FUNCTION trainees_attendance_append_only()
    """,
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS trainees_attendance_append_only ON trainees_attendance",
    "DROP FUNCTION IF EXISTS trainees_attendance_append_only()",
]
SQLITE_FORWARD = [
    """
    CREATE TRIGGER trainees_attendance_no_update BEFORE UPDATE ON trainees_attendance
    BEGIN SELECT RAISE(ABORT, 'trainees_attendance is append-only'); END
    """,
    """
    CREATE TRIGGER trainees_attendance_no_delete BEFORE DELETE ON trainees_attendance
    BEGIN SELECT RAISE(ABORT, 'trainees_attendance is append-only'); END
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS trainees_attendance_no_update",
    "DROP TRIGGER IF EXISTS trainees_attendance_no_delete",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


def carry_over_totals(apps, schema_editor):
    Enrolment = apps.get_model("trainees", "Enrolment")
    Attendance = apps.get_model("trainees", "Attendance")
    now = timezone.now()
    batch = []
    for enrolment_id, online, offline in Enrolment.objects.values_list(
        "pk", "hours_online", "hours_offline"
    ).iterator(chunk_size=2000):
        for mode, hours in (("online", online), ("offline", offline)):
            if hours and Decimal(hours) > 0:
                batch.append(
                    Attendance(
                        enrolment_id=enrolment_id,
                        mode=mode,
                        minutes=int(Decimal(hours) * 60),
                        source="opening",
                        recorded_at=now,
                    )
                )
        if len(batch) >= 2000:
            Attendance.objects.bulk_create(batch)
            batch = []
    Attendance.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("trainees", "0004_attendance_and_evaluation")]

    operations = [
        migrations.RunPython(carry_over_totals, migrations.RunPython.noop),
        migrations.RunPython(_run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
                             _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})),
    ]
