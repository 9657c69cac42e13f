"""Certificates over the API: training certificates issued by institutions, level tests and
level certificates recorded and issued by evaluation institutions. Every role reads what
its scope covers (a trainee: their own)."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from accounts.roles import ALL_ROLES, EVALUATOR, INSTITUTION
from certificates import services
from certificates.models import LevelAssessment, LevelCertificate, TrainingCertificate
from certificates.selectors import (
    level_assessments_visible_to,
    level_certificates_visible_to,
    training_certificates_visible_to,
)
from core.api_fields import DisplayField, ResidentIdField, SaneDateField, ScopedPrimaryKeyField
from core.api_filters import IdFilter
from core.api_views import ApiViewSet
from reference.models import Level
from trainees.models import Enrolment
from trainees.selectors import enrolments_visible_to

# -- serializers ------------------------------------------------------------------------------


class TrainingCertificateSerializer(serializers.ModelSerializer):
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_resident_id = ResidentIdField(trainee_attr="trainee")
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    occupation_name = serializers.CharField(source="occupation.name", read_only=True)
    level_display = DisplayField("level")

    class Meta:
        model = TrainingCertificate
        fields = [
            "id",
            "number",
            "trainee",
            "trainee_name",
            "trainee_resident_id",
            "enrolment",
            "institution",
            "institution_name",
            "plan",
            "occupation",
            "occupation_name",
            "level",
            "level_display",
            "issued_on",
        ]
        read_only_fields = fields


class TrainingCertificateInputSerializer(serializers.Serializer):
    enrolment = ScopedPrimaryKeyField(
        model=Enrolment, scope=enrolments_visible_to, label=gettext_lazy("enrolment")
    )
    issued_on = SaneDateField(required=False, allow_null=True, label=gettext_lazy("issued on"))


class LevelAssessmentSerializer(serializers.ModelSerializer):
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_resident_id = ResidentIdField(trainee_attr="trainee")
    evaluator_name = serializers.CharField(source="evaluator.name", read_only=True)
    occupation_name = serializers.CharField(source="occupation.name", read_only=True)
    level_display = DisplayField("level")
    passed = serializers.BooleanField(read_only=True)
    level_certificate = serializers.SerializerMethodField()

    class Meta:
        model = LevelAssessment
        fields = [
            "id",
            "trainee",
            "trainee_name",
            "trainee_resident_id",
            "evaluator",
            "evaluator_name",
            "training_certificate",
            "occupation",
            "occupation_name",
            "level",
            "level_display",
            "assessed_on",
            "theory_score",
            "theory_passed",
            "practical_score",
            "practical_passed",
            "passed",
            "level_certificate",
        ]
        read_only_fields = fields

    def get_level_certificate(self, assessment) -> int | None:
        certificate = getattr(assessment, "certificate", None)
        return certificate.pk if certificate is not None else None


def _score(label):
    return serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        min_value=0,
        max_value=100,
        required=False,
        allow_null=True,
        default=None,
        label=label,
    )


class LevelAssessmentInputSerializer(serializers.Serializer):
    training_certificate = ScopedPrimaryKeyField(
        model=TrainingCertificate,
        scope=training_certificates_visible_to,
        label=gettext_lazy("training certificate"),
    )
    assessed_on = SaneDateField(label=gettext_lazy("test date"))
    theory_score = _score(gettext_lazy("theory score"))
    theory_passed = serializers.BooleanField(label=gettext_lazy("theory passed"))
    practical_score = _score(gettext_lazy("practical score"))
    practical_passed = serializers.BooleanField(label=gettext_lazy("practical passed"))


class LevelCertificateSerializer(serializers.ModelSerializer):
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_resident_id = ResidentIdField(trainee_attr="trainee")
    evaluator_name = serializers.CharField(source="evaluator.name", read_only=True)
    occupation_name = serializers.CharField(source="occupation.name", read_only=True)
    level_display = DisplayField("level")
    title_equivalence = serializers.CharField(read_only=True)

    class Meta:
        model = LevelCertificate
        fields = [
            "id",
            "number",
            "trainee",
            "trainee_name",
            "trainee_resident_id",
            "evaluator",
            "evaluator_name",
            "assessment",
            "occupation",
            "occupation_name",
            "level",
            "level_display",
            "title_equivalence",
            "issued_on",
        ]
        read_only_fields = fields


class LevelCertificateInputSerializer(serializers.Serializer):
    assessment = ScopedPrimaryKeyField(
        model=LevelAssessment, scope=level_assessments_visible_to, label=gettext_lazy("level test")
    )
    issued_on = SaneDateField(required=False, allow_null=True, label=gettext_lazy("issued on"))


# -- filters ----------------------------------------------------------------------------------


class _CertificateFilter(django_filters.FilterSet):
    trainee = IdFilter(field_name="trainee_id")
    occupation = IdFilter(field_name="occupation_id")
    level = django_filters.ChoiceFilter(choices=Level.choices)
    issued_from = django_filters.DateFilter(field_name="issued_on", lookup_expr="gte")
    issued_until = django_filters.DateFilter(field_name="issued_on", lookup_expr="lte")
    number = django_filters.CharFilter(max_length=40)


class TrainingCertificateFilter(_CertificateFilter):
    institution = IdFilter(field_name="institution_id")
    plan = IdFilter(field_name="plan_id")

    class Meta:
        model = TrainingCertificate
        fields: list[str] = []


class LevelCertificateFilter(_CertificateFilter):
    evaluator = IdFilter(field_name="evaluator_id")

    class Meta:
        model = LevelCertificate
        fields: list[str] = []


class LevelAssessmentFilter(django_filters.FilterSet):
    trainee = IdFilter(field_name="trainee_id")
    training_certificate = IdFilter(field_name="training_certificate_id")
    occupation = IdFilter(field_name="occupation_id")
    level = django_filters.ChoiceFilter(choices=Level.choices)
    assessed_from = django_filters.DateFilter(field_name="assessed_on", lookup_expr="gte")
    assessed_until = django_filters.DateFilter(field_name="assessed_on", lookup_expr="lte")

    class Meta:
        model = LevelAssessment
        fields: list[str] = []


# -- views ------------------------------------------------------------------------------------


class _ReadCreateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    input_serializer_class: type[serializers.Serializer]

    def _input(self, request):
        data = self.input_serializer_class(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data.validated_data

    def _created(self, instance):
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Training certificates the caller may see"),
    retrieve=extend_schema(summary="One training certificate"),
)
class TrainingCertificateViewSet(_ReadCreateViewSet):
    """Training certificates (培训合格证书): issued by the institution for one enrolment."""

    serializer_class = TrainingCertificateSerializer
    input_serializer_class = TrainingCertificateInputSerializer
    filterset_class = TrainingCertificateFilter
    ordering_fields = ["id", "issued_on", "number"]
    ordering = ["-issued_on", "id"]
    action_roles = {"list": ALL_ROLES, "retrieve": ALL_ROLES, "create": frozenset({INSTITUTION})}

    def get_queryset(self):
        return training_certificates_visible_to(self.request.user)

    @extend_schema(
        summary="Issue the training certificate of an enrolment",
        request=TrainingCertificateInputSerializer,
        responses={201: TrainingCertificateSerializer},
    )
    def create(self, request):
        data = self._input(request)
        return self._created(
            services.training_certificate_issue(
                enrolment=data["enrolment"], actor=request.user, issued_on=data.get("issued_on")
            )
        )


@extend_schema_view(
    list=extend_schema(summary="Level tests the caller may see"),
    retrieve=extend_schema(summary="One level test"),
)
class LevelAssessmentViewSet(_ReadCreateViewSet):
    """Level tests (专业技术等级考核): theory and practical results, recorded by the evaluator.

    Recording the same test (certificate and date) again corrects its results until a level
    certificate is issued on it.
    """

    serializer_class = LevelAssessmentSerializer
    input_serializer_class = LevelAssessmentInputSerializer
    filterset_class = LevelAssessmentFilter
    ordering_fields = ["id", "assessed_on"]
    ordering = ["-assessed_on", "id"]
    action_roles = {"list": ALL_ROLES, "retrieve": ALL_ROLES, "create": frozenset({EVALUATOR})}

    def get_queryset(self):
        return level_assessments_visible_to(self.request.user).select_related("certificate")

    @extend_schema(
        summary="Record a level test's results",
        request=LevelAssessmentInputSerializer,
        responses={201: LevelAssessmentSerializer},
    )
    def create(self, request):
        data = self._input(request)
        assessment = services.level_assessment_record(
            evaluator=request.user.evaluator, actor=request.user, **data
        )
        return self._created(self.get_queryset().get(pk=assessment.pk))


@extend_schema_view(
    list=extend_schema(summary="Level certificates the caller may see"),
    retrieve=extend_schema(summary="One level certificate"),
)
class LevelCertificateViewSet(_ReadCreateViewSet):
    """Level certificates (专业技术等级证书): issued by the evaluator when both parts passed."""

    serializer_class = LevelCertificateSerializer
    input_serializer_class = LevelCertificateInputSerializer
    filterset_class = LevelCertificateFilter
    ordering_fields = ["id", "issued_on", "number"]
    ordering = ["-issued_on", "id"]
    action_roles = {"list": ALL_ROLES, "retrieve": ALL_ROLES, "create": frozenset({EVALUATOR})}

    def get_queryset(self):
        return level_certificates_visible_to(self.request.user)

    @extend_schema(
        summary="Issue the level certificate of a passed test",
        request=LevelCertificateInputSerializer,
        responses={201: LevelCertificateSerializer},
    )
    def create(self, request):
        data = self._input(request)
        return self._created(
            services.level_certificate_issue(
                assessment=data["assessment"], actor=request.user, issued_on=data.get("issued_on")
            )
        )
