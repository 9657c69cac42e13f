"""Training plans over the API: an institution files them, its filing authority decides.

Also, open without login: the public notice of accepted plans (培训公告) and the catalogues
of training and evaluation institutions.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import ALL_ROLES, AUTHORITIES, INSTITUTION
from core.api_fields import DisplayField, SaneDateField
from core.api_filters import IdFilter
from core.api_views import ApiViewSet, PublicReadOnlyViewSet
from institutions import services
from institutions.models import (
    EvaluationInstitution,
    ListingStatus,
    PlanStatus,
    TrainingInstitution,
    TrainingPlan,
)
from institutions.selectors import plans_visible_to, public_plans
from reference.api import PUBLIC_SCHEMA
from reference.models import Direction, Level, Occupation

# -- serializers ------------------------------------------------------------------------------


class PlanSerializer(serializers.ModelSerializer):
    institution_name = serializers.CharField(source="institution.name", read_only=True)
    occupation_name = serializers.CharField(source="occupation.name", read_only=True)
    direction_name = serializers.CharField(source="direction.name", read_only=True, allow_null=True)
    level_display = DisplayField("level")
    evaluator_name = serializers.CharField(source="evaluator.name", read_only=True)
    filing_authority_name = serializers.CharField(source="filing_authority.name", read_only=True)
    status_display = DisplayField("status")

    class Meta:
        model = TrainingPlan
        fields = [
            "id",
            "institution",
            "institution_name",
            "title",
            "occupation",
            "occupation_name",
            "direction",
            "direction_name",
            "level",
            "level_display",
            "start_date",
            "end_date",
            "hours_online",
            "hours_offline",
            "class_size",
            "fee",
            "evaluator",
            "evaluator_name",
            "level_test_plan",
            "filing_authority",
            "filing_authority_name",
            "status",
            "status_display",
            "return_reason",
            "filed_at",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields


def _hours(**kwargs):
    return serializers.DecimalField(max_digits=6, decimal_places=1, min_value=0, **kwargs)


class PlanInputSerializer(serializers.Serializer):
    """The fields an institution writes on a plan (draft or returned)."""

    title = serializers.CharField(max_length=100, label=_("class name"))
    occupation = serializers.PrimaryKeyRelatedField(queryset=Occupation.objects.all(), label=_("occupation"))
    direction = serializers.PrimaryKeyRelatedField(
        queryset=Direction.objects.all(), allow_null=True, required=False, label=_("direction")
    )
    level = serializers.ChoiceField(choices=Level.choices, label=_("level"))
    start_date = SaneDateField(min_year=2023, label=_("start date"))
    end_date = SaneDateField(min_year=2023, label=_("end date"))
    hours_online = _hours(label=_("hours online"))
    hours_offline = _hours(label=_("hours offline"))
    class_size = serializers.IntegerField(min_value=1, max_value=100000, label=_("class size"))
    fee = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, label=_("published fee (yuan)")
    )
    evaluator = serializers.PrimaryKeyRelatedField(
        queryset=EvaluationInstitution.objects.all(), label=_("evaluation institution")
    )
    level_test_plan = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        label=_("level test plan agreed with the evaluator"),
    )


class ReturnInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, label=_("reason for return"))


class PublicPlanSerializer(serializers.ModelSerializer):
    """The public notice: what a would-be trainee needs to find a course, nothing more."""

    institution_name = serializers.CharField(source="institution.name", read_only=True)
    city = serializers.CharField(source="institution.city.name", read_only=True)
    city_code = serializers.CharField(source="institution.city.code", read_only=True)
    occupation_name = serializers.CharField(source="occupation.name", read_only=True)
    direction_name = serializers.CharField(source="direction.name", read_only=True, allow_null=True)
    level_display = DisplayField("level")
    evaluator_name = serializers.CharField(source="evaluator.name", read_only=True)

    class Meta:
        model = TrainingPlan
        fields = [
            "id",
            "institution",
            "institution_name",
            "city",
            "city_code",
            "title",
            "occupation",
            "occupation_name",
            "direction_name",
            "level",
            "level_display",
            "start_date",
            "end_date",
            "hours_online",
            "hours_offline",
            "class_size",
            "fee",
            "evaluator_name",
        ]
        read_only_fields = fields


# -- filters ----------------------------------------------------------------------------------


class PlanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices)
    level = django_filters.ChoiceFilter(choices=Level.choices)
    occupation = IdFilter(field_name="occupation_id")
    institution = IdFilter(field_name="institution_id")
    evaluator = IdFilter(field_name="evaluator_id")
    filing_authority = IdFilter(field_name="filing_authority_id")
    starts_from = django_filters.DateFilter(field_name="start_date", lookup_expr="gte")
    starts_until = django_filters.DateFilter(field_name="start_date", lookup_expr="lte")

    class Meta:
        model = TrainingPlan
        fields: list[str] = []


class PublicPlanFilter(django_filters.FilterSet):
    level = django_filters.ChoiceFilter(choices=Level.choices)
    occupation = IdFilter(field_name="occupation_id")
    institution = IdFilter(field_name="institution_id")
    city_code = django_filters.CharFilter(field_name="institution__city__code", max_length=6)
    starts_from = django_filters.DateFilter(field_name="start_date", lookup_expr="gte")
    starts_until = django_filters.DateFilter(field_name="start_date", lookup_expr="lte")

    class Meta:
        model = TrainingPlan
        fields: list[str] = []


# -- views ------------------------------------------------------------------------------------

PLAN_READERS = ALL_ROLES - {"trainee"}


@extend_schema_view(
    list=extend_schema(summary="Plans the caller may see"),
    retrieve=extend_schema(summary="One plan"),
)
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Training plans (培训计划).

    An institution sees, creates, corrects (while draft or returned) and files its own
    plans; a bureau sees the plans filed with it or run in its city and accepts or returns
    those filed with it; provincial staff see every plan and decide those filed with the
    province; an evaluation institution sees the plans that name it.
    """

    serializer_class = PlanSerializer
    filterset_class = PlanFilter
    ordering_fields = ["start_date", "end_date", "created_at", "filed_at", "title", "id"]
    ordering = ["-start_date", "id"]
    action_roles = {
        "list": PLAN_READERS,
        "retrieve": PLAN_READERS,
        "create": frozenset({INSTITUTION}),
        "partial_update": frozenset({INSTITUTION}),
        "file": frozenset({INSTITUTION}),
        "accept": AUTHORITIES,
        "return_plan": AUTHORITIES,
    }

    def get_queryset(self):
        return plans_visible_to(self.request.user)

    def _respond(self, plan, code=status.HTTP_200_OK):
        return Response(PlanSerializer(plan, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="Create a draft plan", request=PlanInputSerializer, responses={201: PlanSerializer}
    )
    def create(self, request):
        data = PlanInputSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        plan = services.plan_create(
            institution=request.user.institution, actor=request.user, **data.validated_data
        )
        return self._respond(plan, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Correct a draft or returned plan",
        request=PlanInputSerializer,
        responses={200: PlanSerializer},
    )
    def partial_update(self, request, pk=None):
        plan = self.get_object()
        data = PlanInputSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        plan = services.plan_update(plan=plan, actor=request.user, **data.validated_data)
        return self._respond(plan)

    @extend_schema(
        summary="File the plan with its filing authority", request=None, responses={200: PlanSerializer}
    )
    @action(detail=True, methods=["post"])
    def file(self, request, pk=None):
        return self._respond(services.plan_file(plan=self.get_object(), actor=request.user))

    @extend_schema(summary="Accept a filed plan (备案)", request=None, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._respond(services.plan_accept(plan=self.get_object(), actor=request.user))

    @extend_schema(
        summary="Return a filed plan with a reason",
        request=ReturnInputSerializer,
        responses={200: PlanSerializer},
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_plan(self, request, pk=None):
        plan = self.get_object()
        data = ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(
            services.plan_return(plan=plan, actor=request.user, reason=data.validated_data["reason"])
        )


@extend_schema_view(
    list=extend_schema(
        summary="Public notice of accepted plans (培训公告)", auth=[], extensions={"x-errors": ["400", "404"]}
    ),
    retrieve=extend_schema(summary="One accepted plan", auth=[], extensions={"x-errors": ["404"]}),
)
class PublicPlanViewSet(PublicReadOnlyViewSet):
    """Accepted plans for anyone, without login: institution, occupation, level, dates, fee."""

    serializer_class = PublicPlanSerializer
    filterset_class = PublicPlanFilter
    ordering_fields = ["start_date", "end_date", "fee", "id"]
    ordering = ["-start_date", "id"]

    def get_queryset(self):
        return public_plans()


# -- the institution catalogues (public, under /api/v1/reference/) -----------------------------


class CatalogueMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    credit_code = serializers.CharField(read_only=True)
    city = serializers.IntegerField(source="city_id", read_only=True)
    city_name = serializers.CharField(source="city.name", read_only=True)
    status = serializers.ChoiceField(choices=ListingStatus.choices, read_only=True)
    status_display = DisplayField("status")


class TrainingInstitutionSerializer(CatalogueMemberSerializer):
    is_provincial_university = serializers.BooleanField(read_only=True)


class CatalogueFilter(django_filters.FilterSet):
    city = IdFilter(field_name="city_id")
    status = django_filters.ChoiceFilter(choices=ListingStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=100)


class TrainingInstitutionFilter(CatalogueFilter):
    class Meta:
        model = TrainingInstitution
        fields: list[str] = []


class EvaluationInstitutionFilter(CatalogueFilter):
    class Meta:
        model = EvaluationInstitution
        fields: list[str] = []


@extend_schema_view(list=PUBLIC_SCHEMA, retrieve=PUBLIC_SCHEMA)
class TrainingInstitutionViewSet(PublicReadOnlyViewSet):
    """The catalogue of training institutions (培训机构目录)."""

    queryset = TrainingInstitution.objects.select_related("city")
    serializer_class = TrainingInstitutionSerializer
    filterset_class = TrainingInstitutionFilter
    ordering_fields = ["id", "name"]
    ordering = ["city__code", "name"]


@extend_schema_view(list=PUBLIC_SCHEMA, retrieve=PUBLIC_SCHEMA)
class EvaluationInstitutionViewSet(PublicReadOnlyViewSet):
    """The catalogue of evaluation institutions (评价机构); a plan names one."""

    queryset = EvaluationInstitution.objects.select_related("city")
    serializer_class = CatalogueMemberSerializer
    filterset_class = EvaluationInstitutionFilter
    ordering_fields = ["id", "name"]
    ordering = ["city__code", "name"]
