"""``python manage.py rotate_pii_key``: re-encrypt every personal-information value under the
active key, in batches, while the system runs (docs/pii.md, "Rotating a key")."""

from django.core.management.base import BaseCommand

from core import crypto
from core.pii_rotation import pii_key_usage, pii_reindex, pii_rotate


class Command(BaseCommand):
    help = "Re-encrypt encrypted columns under the active PII key (batches; safe while the system runs)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--model", action="append", dest="models", help="app_label.model (repeatable)")
        parser.add_argument(
            "--check", action="store_true", help="Only report how many values each key encrypts."
        )
        parser.add_argument(
            "--reindex", action="store_true", help="Recompute every blind index (after a new index key)."
        )

    def handle(self, *args, batch_size: int, models, check: bool, reindex: bool = False, **options):
        labels = [m.lower() for m in models] if models else None
        if reindex:
            for name, count in sorted(pii_reindex(labels=labels, batch_size=batch_size).items()):
                self.stdout.write(f"{name}: {count} blind index(es) recomputed")
        active = crypto.keyring().active_key_id
        if not check:
            report = pii_rotate(
                batch_size=batch_size,
                labels=labels,
                progress=lambda name, done: self.stdout.write(f"  {name}: {done} re-encrypted"),
            )
            for name, count in sorted(report.rewritten.items()):
                self.stdout.write(f"{name}: {count} value(s) re-encrypted under {active}")
            for name, count in sorted(report.skipped.items()):
                self.stdout.write(f"{name}: {count} value(s) changed meanwhile (already under {active})")
            for name, count in sorted(report.failed.items()):
                self.stderr.write(
                    self.style.ERROR(f"{name}: {count} value(s) decrypt with no key of the keyring")
                )
        leftover = 0
        for name, counts in sorted(pii_key_usage(labels).items()):
            summary = ", ".join(f"{kid}: {n}" for kid, n in sorted(counts.items())) or "empty"
            self.stdout.write(f"{name}: {summary}")
            leftover += sum(n for kid, n in counts.items() if kid != active)
        if leftover:
            self.stdout.write(
                self.style.WARNING(f"{leftover} value(s) are not under the active key {active}.")
            )
            if not check:
                raise SystemExit(1)
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Every value is under the active key {active}; older keys may be removed."
                )
            )
