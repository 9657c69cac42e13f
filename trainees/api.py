"""Trainees and enrolments over the API.

An institution registers trainees, enrols them in its accepted plans, records their hours
and the completion test; a trainee reads their own record; bureaus and provincial staff
read what their scope covers. Resident ID numbers are masked for everyone but the trainee.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api_fields import DisplayField, ResidentIdField, SaneDateField, ScopedPrimaryKeyField
from core.api_filters import IdFilter
from core.api_permissions import ALL_ROLES, INSTITUTION, TRAINEE
from core.api_views import ApiViewSet
from core.identity import normalize_resident_id
from institutions.models import TrainingPlan
from institutions.selectors import plans_visible_to
from reference.models import City
from trainees import services
from trainees.models import CompletionResult, Enrolment, Trainee, TraineeCategory
from trainees.selectors import continuing_education_by_year, enrolments_visible_to, trainees_visible_to

# -- serializers ------------------------------------------------------------------------------


class TraineeSerializer(serializers.ModelSerializer):
    resident_id = ResidentIdField()
    category_display = DisplayField("category")

    class Meta:
        model = Trainee
        fields = [
            "id",
            "name",
            "resident_id",
            "phone",
            "category",
            "category_display",
            "household_city",
            "residence_city",
            "employment_city",
            "school_name",
            "school_city",
            "graduation_year",
            "created_at",
        ]
        read_only_fields = fields


class ContinuingEducationSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=8, decimal_places=1)
    classes = serializers.IntegerField()


class TraineeSelfSerializer(TraineeSerializer):
    """The trainee's own record: full ID number, bank details, hours credited per year."""

    continuing_education = serializers.SerializerMethodField()

    class Meta(TraineeSerializer.Meta):
        fields = [*TraineeSerializer.Meta.fields, "bank_name", "bank_account", "continuing_education"]
        read_only_fields = fields

    @extend_schema_field(ContinuingEducationSerializer(many=True))
    def get_continuing_education(self, trainee) -> list[dict]:
        return ContinuingEducationSerializer(continuing_education_by_year(trainee=trainee), many=True).data


def _city(**kwargs):
    return serializers.PrimaryKeyRelatedField(queryset=City.objects.all(), **kwargs)


class TraineeInputSerializer(serializers.Serializer):
    resident_id = serializers.CharField(max_length=32, label=gettext_lazy("resident ID number"))
    name = serializers.CharField(max_length=50, label=gettext_lazy("name"))
    phone = serializers.CharField(
        max_length=20, required=False, allow_blank=True, label=gettext_lazy("phone")
    )
    category = serializers.ChoiceField(choices=TraineeCategory.choices, label=gettext_lazy("category"))
    household_city = _city(label=gettext_lazy("household-registration city"))
    residence_city = _city(required=False, allow_null=True, label=gettext_lazy("usual-residence city"))
    employment_city = _city(
        required=False, allow_null=True, label=gettext_lazy("job-seeking or employment city")
    )
    school_name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, label=gettext_lazy("school")
    )
    school_city = _city(required=False, allow_null=True, label=gettext_lazy("school city"))
    graduation_year = serializers.IntegerField(
        min_value=1950, max_value=2100, required=False, allow_null=True, label=gettext_lazy("graduation year")
    )
    bank_name = serializers.CharField(
        max_length=50, required=False, allow_blank=True, label=gettext_lazy("bank")
    )
    bank_account = serializers.CharField(
        max_length=40, required=False, allow_blank=True, label=gettext_lazy("bank account")
    )


class EnrolmentSerializer(serializers.ModelSerializer):
    plan_title = serializers.CharField(source="plan.title", read_only=True)
    institution = serializers.IntegerField(source="plan.institution_id", read_only=True)
    trainee_name = serializers.CharField(source="trainee.name", read_only=True)
    trainee_resident_id = ResidentIdField(trainee_attr="trainee")
    total_hours = serializers.DecimalField(max_digits=7, decimal_places=1, read_only=True)
    completion_result_display = DisplayField("completion_result")
    training_certificate = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "plan",
            "plan_title",
            "institution",
            "trainee",
            "trainee_name",
            "trainee_resident_id",
            "hours_online",
            "hours_offline",
            "total_hours",
            "completion_result",
            "completion_result_display",
            "completion_date",
            "enrolled_at",
            "training_certificate",
        ]
        read_only_fields = fields

    def get_training_certificate(self, enrolment) -> int | None:
        certificate = getattr(enrolment, "training_certificate", None)
        return certificate.pk if certificate is not None else None


class EnrolmentInputSerializer(serializers.Serializer):
    """Enrol a registered trainee, named by resident ID number, in one of the institution's plans.

    The trainee is named by the full ID number rather than by id: an institution sees only
    the trainees already in its classes, and a person it has not taught yet proves the
    relationship by handing over their ID number, as on a paper enrolment form.
    """

    plan = ScopedPrimaryKeyField(
        model=TrainingPlan, scope=plans_visible_to, label=gettext_lazy("training plan")
    )
    resident_id = serializers.CharField(max_length=32, label=gettext_lazy("resident ID number"))

    def validate_resident_id(self, value):
        trainee = Trainee.objects.filter(resident_id=normalize_resident_id(value)).first()
        if trainee is None:
            raise serializers.ValidationError(
                _("No trainee is registered with this resident ID number; register the trainee first.")
            )
        return trainee


class HoursInputSerializer(serializers.Serializer):
    hours_online = serializers.DecimalField(
        max_digits=6, decimal_places=1, min_value=0, label=gettext_lazy("hours online")
    )
    hours_offline = serializers.DecimalField(
        max_digits=6, decimal_places=1, min_value=0, label=gettext_lazy("hours offline")
    )


class CompletionInputSerializer(serializers.Serializer):
    passed = serializers.BooleanField(label=gettext_lazy("passed"))
    on = SaneDateField(label=gettext_lazy("completion test date"))


# -- filters ----------------------------------------------------------------------------------


class TraineeFilter(django_filters.FilterSet):
    category = django_filters.ChoiceFilter(choices=TraineeCategory.choices)
    household_city = IdFilter(field_name="household_city_id")
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=50)
    plan = IdFilter(field_name="enrolments__plan_id", distinct=True)

    class Meta:
        model = Trainee
        fields: list[str] = []


class EnrolmentFilter(django_filters.FilterSet):
    plan = IdFilter(field_name="plan_id")
    trainee = IdFilter(field_name="trainee_id")
    completion_result = django_filters.ChoiceFilter(choices=CompletionResult.choices)

    class Meta:
        model = Enrolment
        fields: list[str] = []


# -- views ------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Trainees the caller may see"),
    retrieve=extend_schema(summary="One trainee"),
)
class TraineeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Trainees (学员).

    Institution staff register trainees and see those enrolled in their plans; a bureau sees
    its city's trainees; an evaluation institution its candidates; a trainee only themself
    (``me``, or a list of one). Read only except registration.
    """

    serializer_class = TraineeSerializer
    filterset_class = TraineeFilter
    ordering_fields = ["id", "name", "created_at"]
    ordering = ["id"]
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": frozenset({INSTITUTION}),
        "me": frozenset({TRAINEE}),
    }

    def get_queryset(self):
        return trainees_visible_to(self.request.user)

    @extend_schema(
        summary="Register a trainee", request=TraineeInputSerializer, responses={201: TraineeSerializer}
    )
    def create(self, request):
        data = TraineeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trainee = services.trainee_create(actor=request.user, **data.validated_data)
        return Response(self.get_serializer(trainee).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The trainee's own record", responses={200: TraineeSelfSerializer})
    @action(detail=False, methods=["get"])
    def me(self, request):
        trainee = self.get_queryset().get(user=request.user)
        return Response(TraineeSelfSerializer(trainee, context=self.get_serializer_context()).data)


@extend_schema_view(
    list=extend_schema(summary="Enrolments the caller may see"),
    retrieve=extend_schema(summary="One enrolment"),
)
class EnrolmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Enrolments in a plan's class: hours attended and the completion test (结业考核)."""

    serializer_class = EnrolmentSerializer
    filterset_class = EnrolmentFilter
    ordering_fields = ["id", "enrolled_at", "completion_date"]
    ordering = ["id"]
    action_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": frozenset({INSTITUTION}),
        "hours": frozenset({INSTITUTION}),
        "completion": frozenset({INSTITUTION}),
    }

    def get_queryset(self):
        return enrolments_visible_to(self.request.user).select_related("training_certificate")

    def _respond(self, enrolment, code=status.HTTP_200_OK):
        enrolment = self.get_queryset().get(pk=enrolment.pk)
        return Response(self.get_serializer(enrolment).data, status=code)

    @extend_schema(
        summary="Enrol a registered trainee in an accepted plan",
        request=EnrolmentInputSerializer,
        responses={201: EnrolmentSerializer},
    )
    def create(self, request):
        data = EnrolmentInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        enrolment = services.enrolment_create(
            plan=data.validated_data["plan"], trainee=data.validated_data["resident_id"], actor=request.user
        )
        return self._respond(enrolment, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record hours attended", request=HoursInputSerializer, responses={200: EnrolmentSerializer}
    )
    @action(detail=True, methods=["post"])
    def hours(self, request, pk=None):
        enrolment = self.get_object()
        data = HoursInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.enrolment_record_hours(enrolment=enrolment, actor=request.user, **data.validated_data)
        return self._respond(enrolment)

    @extend_schema(
        summary="Record the completion test",
        request=CompletionInputSerializer,
        responses={200: EnrolmentSerializer},
    )
    @action(detail=True, methods=["post"])
    def completion(self, request, pk=None):
        enrolment = self.get_object()
        data = CompletionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.enrolment_record_completion(enrolment=enrolment, actor=request.user, **data.validated_data)
        return self._respond(enrolment)
