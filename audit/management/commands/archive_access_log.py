"""``python manage.py archive_access_log``: move access-log rows older than AUDIT_RETENTION_DAYS
to files in the storage (never dropped; see audit.services.access_log_archive)."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import access_log_archive
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Archive access-log rows past the retention period to files in the storage."

    def handle(self, *args, **options):
        total = 0
        try:
            while (archive := access_log_archive()) is not None:
                total += archive.row_count
                self.stdout.write(f"{archive.file}: positions {archive.first_seq}-{archive.last_seq}")
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(self.style.SUCCESS(f"{total} row(s) archived."))
