from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Filing reports")

    def ready(self):
        from core.admin_todos import register_todo
        from reports.todos import report_todos

        register_todo(report_todos, order=30)
