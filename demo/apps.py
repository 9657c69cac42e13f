from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demonstration data of ``make run`` (``load_demo``): the top floor, nothing imports it."""

    name = "demo"
    verbose_name = _("Demonstration data")
