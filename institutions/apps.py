from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InstitutionsConfig(AppConfig):
    name = "institutions"
    verbose_name = _("Institutions and plans")

    def ready(self):
        from core.admin_todos import register_todo
        from institutions.todos import plan_todos

        register_todo(plan_todos, order=20)
