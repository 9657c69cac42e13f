"""``python manage.py load_demo [--if-empty]``: the demonstration data of ``make run``."""

from django.core.management.base import BaseCommand, CommandError

from demo.loader import DEMO_LOGINS, DEMO_PASSWORD, EXTRA_LOGINS, DemoDataExists, demo_is_loaded, demo_load


class Command(BaseCommand):
    help = "Load demonstration data (cities, occupations, demo standards, institutions, users, trainees, claims)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (and succeed) when the database already holds trainees.",
        )

    def handle(self, *args, if_empty: bool = False, **options):
        if if_empty and demo_is_loaded():
            self.stdout.write("Demo data not loaded: the database already holds trainees.")
            return
        try:
            summary = demo_load()
        except DemoDataExists as exc:
            raise CommandError(
                f"{exc.message} Use --if-empty to skip, or start from an empty database."
            ) from exc
        self.stdout.write(self.style.SUCCESS("Demo data loaded:"))
        for key, value in summary.items():
            self.stdout.write(f"  {key:<26} {value}")
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD}):")
        for username, role in DEMO_LOGINS + EXTRA_LOGINS:
            self.stdout.write(f"  {username:<16} {role}")
