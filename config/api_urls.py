"""Every REST endpoint under /api/v1/. Each app exposes its views in ``<app>/api.py``."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from accounts.api import MeView, TokenView
from core.api import not_found_view
from institutions.api import PlanViewSet, PublicPlanViewSet

router = SimpleRouter()
router.register("plans", PlanViewSet, basename="plan")
router.register("public/plans", PublicPlanViewSet, basename="public-plan")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    *router.urls,
    # Last: any other path under /api/v1/ answers the API's JSON 404, not Django's HTML page.
    re_path(r"^.*$", not_found_view),
]
