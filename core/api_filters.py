"""Filter types shared by the API's FilterSets."""

from __future__ import annotations

import django_filters
from django import forms
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
