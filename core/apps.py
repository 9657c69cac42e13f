from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        from core import crypto, sms  # noqa: F401  (sms registers its system checks)

        crypto.connect_setting_changes()
