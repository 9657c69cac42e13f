"""Nightly audit jobs (beat schedule in config/settings.py): thin, one service call each."""

from celery import shared_task

from audit import services


@shared_task(name="audit.tasks.verify_audit_chains")
def verify_audit_chains() -> int:
    """Walk every hash chain; a broken one is sent to provincial staff. Returns the number broken."""
    return sum(1 for report in services.audit_verify_and_alert() if not report.ok)


@shared_task(name="audit.tasks.archive_access_log")
def archive_access_log() -> int:
    """Archive access-log rows past the retention period, batch after batch. Returns rows archived."""
    total = 0
    while (archive := services.access_log_archive()) is not None:
        total += archive.row_count
    return total
