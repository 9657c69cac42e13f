from django.core.management.base import BaseCommand

from reference.services import reference_load


class Command(BaseCommand):
    help = "Load cities, bureaus and occupations from fixtures/reference.json (idempotent)."

    def handle(self, *args, **options):
        counts = reference_load()
        self.stdout.write(", ".join(f"{k}={v}" for k, v in counts.items()))
