"""``python manage.py restore BACKUP_DIR [--database-url URL] [--create]`` (``make restore``).

Restores into a fresh PostgreSQL database (refuses a database that has tables), puts the
stored files back through the storage API, and checks the result with ``verify_backup``.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup into a fresh database and verify counts and audit chains."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="The backup's directory (backups/dte-YYYYmmdd-HHMMSS).")
        parser.add_argument("--database-url", default="", help="Target database (default: DATABASE_URL).")
        parser.add_argument(
            "--create", action="store_true", help="Create the target database if it does not exist."
        )

    def handle(self, *args, backup: str, database_url: str, create: bool, **options):
        url = database_url or _configured_url()
        try:
            manifest = backup_restore(directory=Path(backup), database_url=url, create=create)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {backup} (taken {manifest['created_at']}); counts and audit chains verified."
            )
        )


def _configured_url() -> str:
    import os

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise CommandError("Name the target with --database-url or DATABASE_URL (PostgreSQL).")
    return url
