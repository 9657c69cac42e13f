"""Every REST endpoint under /api/v1/. Each app exposes its views in ``<app>/api.py``."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from accounts.api import MessageViewSet, MeView, TokenView
from certificates.api import LevelAssessmentViewSet, LevelCertificateViewSet, TrainingCertificateViewSet
from core.api import not_found_view
from institutions.api import (
    EvaluationInstitutionViewSet,
    PlanViewSet,
    PublicPlanViewSet,
    TrainingInstitutionViewSet,
)
from reference.api import BureauViewSet, CityViewSet, OccupationViewSet
from reports.api import ReportJobViewSet
from subsidies.api import ClaimDocumentViewSet, ClaimViewSet
from trainees.api import EnrolmentViewSet, TraineeViewSet

router = SimpleRouter()
router.register("plans", PlanViewSet, basename="plan")
router.register("public/plans", PublicPlanViewSet, basename="public-plan")
router.register("trainees", TraineeViewSet, basename="trainee")
router.register("enrolments", EnrolmentViewSet, basename="enrolment")
router.register("training-certificates", TrainingCertificateViewSet, basename="training-certificate")
router.register("level-assessments", LevelAssessmentViewSet, basename="level-assessment")
router.register("level-certificates", LevelCertificateViewSet, basename="level-certificate")
router.register("claims", ClaimViewSet, basename="claim")
router.register("messages", MessageViewSet, basename="message")
router.register("claim-documents", ClaimDocumentViewSet, basename="claim-document")
router.register("reports", ReportJobViewSet, basename="report")
router.register("reference/cities", CityViewSet, basename="city")
router.register("reference/bureaus", BureauViewSet, basename="bureau")
router.register("reference/occupations", OccupationViewSet, basename="occupation")
router.register(
    "reference/training-institutions", TrainingInstitutionViewSet, basename="training-institution"
)
router.register(
    "reference/evaluation-institutions", EvaluationInstitutionViewSet, basename="evaluation-institution"
)

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    *router.urls,
    # Last: any other path under /api/v1/ answers the API's JSON 404, not Django's HTML page.
    re_path(r"^", not_found_view),
]
