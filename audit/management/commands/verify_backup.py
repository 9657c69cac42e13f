"""``python manage.py verify_backup BACKUP_DIR``: does this database hold what the backup's
manifest says (row counts, chain heads), and does every audit chain verify? Exit 1 if not."""

from pathlib import Path

from django.core.management.base import BaseCommand

from audit.backup import BackupError, backup_compare, read_manifest
from audit.services import audit_verify


class Command(BaseCommand):
    help = "Compare this database with a backup's manifest and verify the audit chains."

    def add_arguments(self, parser):
        parser.add_argument("backup")

    def handle(self, *args, backup: str, **options):
        try:
            manifest = read_manifest(Path(backup))
        except BackupError as exc:
            self.stderr.write(str(exc))
            raise SystemExit(1) from exc
        problems = backup_compare(manifest)
        problems += [f"{r.chain}: {r.problem}" for r in audit_verify() if not r.ok]
        for problem in problems:
            self.stdout.write(self.style.ERROR(problem))
        if problems:
            raise SystemExit(1)
        self.stdout.write(
            self.style.SUCCESS(
                f"Same {sum(manifest['counts'].values())} rows and chain heads as the backup; every audit chain verifies."
            )
        )
