"""Filter types shared by the API's FilterSets."""

from __future__ import annotations

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

# The largest id a BigAutoField holds; larger numbers can name no row.
MAX_ID = 2**63 - 1


class IdField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """Filter by a related object's id, compared as a plain number.

    Not a ``ModelChoiceFilter``: that one answers "not a valid choice" for an id that
    exists outside the caller's scope and nothing for one that does not, which would tell
    the two apart. A number filter just narrows the caller's own rows.
    """

    field_class = IdField


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, which does nothing when the request names none of the
    FilterSet's parameters: the FilterSet would build and validate a form of every filter
    only to leave the queryset as it is, and on the busiest lists (a reviewer's claims,
    unfiltered) that form cost more than reading the rows. No FilterSet here has a required
    filter, so a request without parameters could not fail validation either."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        params = request.query_params
        if not any(name in params for name in filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)
