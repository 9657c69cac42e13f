"""Serializer fields shared by the API modules."""

from __future__ import annotations

import functools

from django.utils.hashable import make_hashable
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.identity import mask_resident_id

# Set this key in a serializer's context to show full resident ID numbers: only where a
# bureau's own work needs them (the claim detail for the claim's own bureau).
REVEAL_RESIDENT_ID = "reveal_resident_id"


@extend_schema_field(
    {
        "type": "string",
        "description": "Resident ID number; masked (330102********1234) except to the trainee "
        "themselves and on a claim detail for the claim's own bureau.",
        "example": "330102********1234",
    }
)
class ResidentIdField(serializers.Field):
    """A trainee's resident ID number, masked unless the requester may see it in full.

    ``trainee_attr`` is the dotted path from the serialized object to the trainee
    (``"trainee"`` on a claim or certificate; empty on a trainee itself).
    """

    def __init__(self, trainee_attr: str = "", **kwargs):
        self.trainee_attr = trainee_attr
        kwargs["source"] = "*"
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def _trainee(self, obj):
        for name in filter(None, self.trainee_attr.split(".")):
            obj = getattr(obj, name)
        return obj

    def reveal(self, trainee) -> bool:
        if self.context.get(REVEAL_RESIDENT_ID):
            return True
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and trainee.user_id == user.pk)

    def to_representation(self, obj):
        trainee = self._trainee(obj)
        if trainee is None:
            return None
        if self.reveal(trainee):
            return trainee.resident_id
        return mask_resident_id(trainee.resident_id)


@functools.cache
def choice_labels(model, name: str) -> dict:
    """What ``Model._get_FIELD_display`` builds on every call, built once per field."""
    return dict(make_hashable(model._meta.get_field(name).flatchoices))


# Translated choice labels by (label table, value, language); bounded by the choices.
_LABEL_TEXTS: dict[tuple, str] = {}


class DisplayField(serializers.CharField):
    """The human label of a choice field (what ``get_<field>_display`` gives), read only.

    Read from the field's value and a label table built once per model field: with
    ``get_<field>_display`` as its source, DRF inspected the method's signature and Django
    rebuilt the table for every field of every row."""

    def __init__(self, choice_field: str, **kwargs):
        self.choice_field = choice_field
        kwargs["source"] = choice_field
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    @staticmethod
    def label_of(labels: dict, value) -> str:
        return DisplayField.label_in(labels, get_language(), value)

    @staticmethod
    def label_in(labels: dict, language: str | None, value) -> str:
        """The label of ``value`` in ``language`` (the active one, which a list asks once
        for all its rows)."""
        key = make_hashable(value)
        if key not in labels:
            # A value outside the choices shows as itself, as get_<field>_display does.
            return str(value)
        # Translated once per label and language: a page of fifty claims translated three
        # labels a row.
        memo = (id(labels), key, language)
        text = _LABEL_TEXTS.get(memo)
        if text is None:
            text = _LABEL_TEXTS[memo] = str(labels[key])
        return text

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        if value is None:
            return None
        return self.label_of(choice_labels(type(instance), self.choice_field), value)


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A related object by id, looked up only among the rows the requester may see.

    ``scope(user)`` is the owning app's ``*_visible_to`` selector. An id outside the scope
    gets the same "does not exist" answer as an id that does not exist, so input fields
    cannot be used to probe for other people's records either.

    ``id_only``: the row is only checked to be in scope and comes back with its id alone, for
    a service that loads it again itself (under its lock): not joined to what the scope's
    selector would bring along, nor decrypted.
    """

    def __init__(self, *, model, scope, id_only: bool = False, **kwargs):
        self.scope = scope
        self.id_only = id_only
        # The queryset is only a type hint for the schema; ``get_queryset`` does the lookup.
        kwargs["queryset"] = model.objects.none()
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        queryset = self.scope(getattr(request, "user", None))
        return queryset.select_related(None).only("pk") if self.id_only else queryset


class SaneDateField(serializers.DateField):
    """A date within years ``min_year``..``max_year``: outside them a date is a typing slip
    (0024 for 2024) or a probe (9999-12-31), and date arithmetic on it (a period's end, a
    claim window) would overflow into a 500. Periods and plans use 2023 (the programme
    began on 2023-09-16); other dates 2000."""

    def __init__(self, *, min_year: int = 2000, max_year: int = 2100, **kwargs):
        self.min_year, self.max_year = min_year, max_year
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        if not self.min_year <= parsed.year <= self.max_year:
            raise serializers.ValidationError(
                _("Enter a date between the years %(min)d and %(max)d.")
                % {"min": self.min_year, "max": self.max_year},
                code="date_out_of_range",
            )
        return parsed
