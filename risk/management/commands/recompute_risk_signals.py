"""Recompute every open claim's risk signals now (what the nightly task does)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from risk.services import signals_recompute_open


class Command(BaseCommand):
    help = "Recompute the risk signals of every open (submitted or approved) claim."

    def handle(self, *args, **options):
        result = signals_recompute_open()
        self.stdout.write(
            _("%(claims)s open claims, %(signals)s signals found.")
            % {"claims": result.claims, "signals": result.signals}
        )
        if result.failed_rules:
            self.stderr.write(_("Rules that failed: %(codes)s") % {"codes": ", ".join(result.failed_rules)})
