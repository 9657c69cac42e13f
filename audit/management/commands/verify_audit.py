"""``python manage.py verify_audit``: walk every audit hash chain; exit 1 at the first broken link."""

from django.core.management.base import BaseCommand

from audit.services import audit_verify, audit_verify_and_alert


class Command(BaseCommand):
    help = "Verify the hash chains of claim events, plan events, the access log (and its archives)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--alert",
            action="store_true",
            help="Also send a message to provincial staff when a chain is broken.",
        )

    def handle(self, *args, alert: bool = False, **options):
        reports = audit_verify_and_alert() if alert else audit_verify()
        broken = 0
        for report in reports:
            if report.ok:
                self.stdout.write(
                    f"OK      {report.chain}: {report.rows} row(s), head {report.head_seq} {report.head_hash[:16]}"
                )
            else:
                broken += 1
                self.stdout.write(self.style.ERROR(f"BROKEN  {report.chain}: {report.problem}"))
        if broken:
            self.stderr.write(self.style.ERROR(f"{broken} audit chain(s) broken."))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("Every audit chain verifies."))
