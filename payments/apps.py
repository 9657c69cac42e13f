from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        # The claim list gains "put into a payment batch" from here, not from subsidies/admin.py
        # (a lower floor must not know about payments).
        from payments import admin_hooks

        admin_hooks.attach()
