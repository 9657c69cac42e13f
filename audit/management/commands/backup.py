"""``python manage.py backup [--dir DIR]`` (``make backup``): dump, stored files and manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from audit.backup import BackupError, backup_create, default_backup_directory


class Command(BaseCommand):
    help = "Back up the database (pg_dump custom format) and the stored files, with a manifest."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", default="", help="Where to write the backup (default BACKUP_DIR or backups/)."
        )

    def handle(self, *args, dir: str, **options):
        try:
            result = backup_create(directory=Path(dir) if dir else default_backup_directory())
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        self.stdout.write(self.style.SUCCESS(f"Backup written to {result.directory}"))
        for chain, head in manifest["chain_heads"].items():
            self.stdout.write(f"  chain {chain}: head {head['seq']} {head['head_hash'][:16]}")
        self.stdout.write(
            f"  {sum(manifest['counts'].values())} rows in {len(manifest['counts'])} tables, "
            f"{manifest['files']['count']} stored file(s)"
        )
        self.stdout.write(
            self.style.WARNING(
                f"The PII keys ({', '.join(manifest['pii_key_ids']) or 'none in use'}) are not in the backup: keep them apart."
            )
        )
