from django.urls import path
from health_check.views import HealthCheckView

from core.health import checks

urlpatterns = [path("", HealthCheckView.as_view(checks=checks()), name="health")]
