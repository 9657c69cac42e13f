"""The catalogues a client needs to fill in the API's forms, public and read only.

Cities, bureaus (a claim names one), occupations with their directions and the two
institution catalogues are published data (SPEC.md: the MOHRSS catalogues, the subsidy
standards' occupations), so they need no login, like the public notice of plans.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.permissions import AllowAny

from core.api_fields import DisplayField
from core.api_filters import IdFilter
from core.api_pagination import StandardPagination
from institutions.models import EvaluationInstitution, ListingStatus, TrainingInstitution
from reference.models import Bureau, City, Direction, Occupation


class CitySerializer(serializers.ModelSerializer):
    class Meta:
        model = City
        fields = ["id", "code", "name", "in_zhejiang"]
        read_only_fields = fields


class BureauSerializer(serializers.ModelSerializer):
    kind_display = DisplayField("kind")

    class Meta:
        model = Bureau
        fields = ["id", "name", "kind", "kind_display", "city"]
        read_only_fields = fields


class DirectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Direction
        fields = ["id", "name"]
        read_only_fields = fields


class OccupationSerializer(serializers.ModelSerializer):
    directions = DirectionSerializer(many=True, read_only=True)

    class Meta:
        model = Occupation
        fields = ["id", "name", "short_name", "code_2021", "code_2022", "codes_confirmed", "directions"]
        read_only_fields = fields


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


_PUBLIC = extend_schema(auth=[], extensions={"x-errors": ["400", "404"]})


class _PublicCatalogue(viewsets.ReadOnlyModelViewSet):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    pagination_class = StandardPagination
    metadata_class = None
    lookup_value_regex = r"[0-9]+"
    filterset_fields: list[str] = []


@extend_schema_view(list=_PUBLIC, retrieve=_PUBLIC)
class CityViewSet(_PublicCatalogue):
    """Cities (地市) by GB/T 2260 code."""

    queryset = City.objects.all()
    serializer_class = CitySerializer
    ordering_fields = ["code", "id"]
    ordering = ["code"]


@extend_schema_view(list=_PUBLIC, retrieve=_PUBLIC)
class BureauViewSet(_PublicCatalogue):
    """Human-resources bureaus: one per city, and the province. A claim is filed to one."""

    queryset = Bureau.objects.select_related("city")
    serializer_class = BureauSerializer
    ordering_fields = ["id", "name"]
    ordering = ["kind", "city__code"]


@extend_schema_view(list=_PUBLIC, retrieve=_PUBLIC)
class OccupationViewSet(_PublicCatalogue):
    """The ten digital-technology occupations (职业) and their directions (方向)."""

    queryset = Occupation.objects.prefetch_related("directions")
    serializer_class = OccupationSerializer
    ordering_fields = ["id", "name", "code_2022"]
    ordering = ["code_2022", "name"]


@extend_schema_view(list=_PUBLIC, retrieve=_PUBLIC)
class TrainingInstitutionViewSet(_PublicCatalogue):
    """The catalogue of training institutions (培训机构目录)."""

    queryset = TrainingInstitution.objects.select_related("city")
    serializer_class = TrainingInstitutionSerializer
    filterset_class = TrainingInstitutionFilter
    ordering_fields = ["id", "name"]
    ordering = ["city__code", "name"]


@extend_schema_view(list=_PUBLIC, retrieve=_PUBLIC)
class EvaluationInstitutionViewSet(_PublicCatalogue):
    """The catalogue of evaluation institutions (评价机构); a plan names one."""

    queryset = EvaluationInstitution.objects.select_related("city")
    serializer_class = CatalogueMemberSerializer
    filterset_class = EvaluationInstitutionFilter
    ordering_fields = ["id", "name"]
    ordering = ["city__code", "name"]
