"""``python manage.py generate_pii_keys [--add-to FILE]``: a new keyring, or a new active key in one."""

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core import crypto


class Command(BaseCommand):
    help = "Write a new PII key file (mode 0600), or add a new active key to an existing one for rotation."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Key file to write; keep it outside the code directory.")
        parser.add_argument("--key-id", required=True, help="Id of the new key, e.g. 2026a")
        parser.add_argument(
            "--add",
            action="store_true",
            help="Add the key to an existing file and make it active (rotation).",
        )

    def handle(self, *args, path: str, key_id: str, add: bool, **options):
        target = Path(path)
        fresh = crypto.new_keyring_mapping(key_id)
        if add:
            try:
                data = json.loads(target.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{target} cannot be read: {exc}") from exc
            if key_id in data.get("keys", {}):
                raise CommandError(f"{target} already holds a key {key_id!r}")
            data["keys"][key_id] = fresh["keys"][key_id]
            data["active"] = key_id  # the index key stays: blind indexes must not change
        else:
            if target.exists():
                raise CommandError(f"{target} exists; use --add to add a key to it")
            data = fresh
        crypto.keyring_from_mapping(data, source=str(target))  # refuse to write a broken keyring
        tmp = target.with_suffix(target.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
        os.replace(tmp, target)
        self.stdout.write(
            self.style.SUCCESS(f"{target}: active key {key_id}, keys {', '.join(data['keys'])}")
        )
