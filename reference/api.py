"""The reference catalogues a client needs to fill in the API's forms, public and read only.

Cities, bureaus (a claim names one) and occupations with their directions are published
data (SPEC.md: the subsidy standards' occupations), so they need no login. The two
institution catalogues are served by ``institutions/api.py`` under the same
``/api/v1/reference/`` prefix.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from core.api_fields import DisplayField
from core.api_views import PublicReadOnlyViewSet
from reference.models import Bureau, City, Direction, Occupation

PUBLIC_SCHEMA = extend_schema(auth=[], extensions={"x-errors": ["400", "404"]})


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


@extend_schema_view(list=PUBLIC_SCHEMA, retrieve=PUBLIC_SCHEMA)
class CityViewSet(PublicReadOnlyViewSet):
    """Cities (地市) by GB/T 2260 code."""

    queryset = City.objects.all()
    serializer_class = CitySerializer
    ordering_fields = ["code", "id"]
    ordering = ["code"]


@extend_schema_view(list=PUBLIC_SCHEMA, retrieve=PUBLIC_SCHEMA)
class BureauViewSet(PublicReadOnlyViewSet):
    """Human-resources bureaus: one per city, and the province. A claim is filed to one."""

    queryset = Bureau.objects.select_related("city")
    serializer_class = BureauSerializer
    ordering_fields = ["id", "name"]
    ordering = ["kind", "city__code"]


@extend_schema_view(list=PUBLIC_SCHEMA, retrieve=PUBLIC_SCHEMA)
class OccupationViewSet(PublicReadOnlyViewSet):
    """The ten digital-technology occupations (职业) and their directions (方向)."""

    queryset = Occupation.objects.prefetch_related("directions")
    serializer_class = OccupationSerializer
    ordering_fields = ["id", "name", "code_2022"]
    ordering = ["code_2022", "name"]
