from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from health_check.views import HealthCheckView

from core.health import checks

# What an operator reads on the page, per check class.
LABELS = {
    "Database": _("Database"),
    "Cache": _("Cache"),
    "Storage": _("File storage"),
    "Broker": _("Task queue (Redis)"),
    "WorkerHeartbeat": _("Background worker"),
}


class HealthView(HealthCheckView):
    """The checks chosen per request from the settings (a broker configured or not); the
    page in Chinese, the machine formats (``?format=json`` and the others) as the package
    writes them."""

    template_name = "core/health.html"

    def get_checks(self):
        self.checks = checks()
        return super().get_checks()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [
            {
                "label": LABELS.get(type(result.check).__name__, type(result.check).__name__),
                "error": result.error,
                "seconds": result.time_taken,
            }
            for result in self.results
        ]
        context["now"] = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        return context


urlpatterns = [path("", HealthView.as_view(), name="health")]
