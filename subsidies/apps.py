from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubsidiesConfig(AppConfig):
    name = "subsidies"
    verbose_name = _("Subsidies")

    def ready(self):
        from core.admin_todos import register_todo
        from subsidies import tasks  # noqa: F401 - registers the tasks, which bulk._enqueue finds by name
        from subsidies.todos import claim_todos

        register_todo(claim_todos, order=10)
