from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Filing reports")

    def ready(self):
        # The lower apps' admins know nothing of reports: the actions are attached here,
        # once every admin module has been imported (django.contrib.admin's ready() ran first).
        from reports import tasks  # noqa: F401 - registers the tasks, which jobs.send finds by name
        from reports.admin import attach_actions

        attach_actions()
        from core.admin_todos import register_todo
        from reports.todos import report_todos

        register_todo(report_todos, order=30)
