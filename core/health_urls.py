from django.urls import path
from health_check.views import HealthCheckView

from core.health import checks


class HealthView(HealthCheckView):
    """The checks chosen per request from the settings (a broker configured or not)."""

    def get_checks(self):
        self.checks = checks()
        return super().get_checks()


urlpatterns = [path("", HealthView.as_view(), name="health")]
