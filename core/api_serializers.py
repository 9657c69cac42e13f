"""A faster ``to_representation`` for read serializers that list many rows.

DRF reads each field of each row through ``Field.get_attribute``: a walk over ``source_attrs``
that asks ``inspect`` at every step whether the value is a callable to call. For a page of
fifty claims of thirty-odd fields that walk was most of the response's time. Here the
plain fields (a model column, or a column behind forward foreign keys, or a foreign key's
id) are read with ``operator.attrgetter`` and converted by the field's own
``to_representation``; every other field (``source="*"``, methods, nested serializers,
properties) goes through DRF's own path. A plain read that fails (a missing related row,
a null foreign key on the way) falls back to DRF's path for that field, which applies the
field's default or null handling. The output is the one DRF gives (tested field by field in
``tests/api/test_fast_serializers.py``); the schema is untouched, as the fields are.
"""

from __future__ import annotations

import copy
import functools
from operator import attrgetter

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.utils.translation import get_language
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

from core.api_fields import DisplayField, choice_labels

# Field classes whose representation depends only on the value read (their own
# ``to_representation``), never on the instance or the request.
_PLAIN_FIELDS = (
    serializers.BooleanField,
    serializers.CharField,
    serializers.ChoiceField,
    serializers.DateField,
    serializers.DateTimeField,
    serializers.DecimalField,
    serializers.FloatField,
    serializers.IntegerField,
)


class _Labels:
    """A choice field's label table (``choice_labels``), read in the language active when a
    serializer reads."""

    __slots__ = ("table",)

    def __init__(self, table: dict):
        self.table = table


def _model_path(model, attrs: list[str]):
    """The model field at the end of ``attrs`` when every step before it is a forward
    foreign key (or one-to-one), otherwise None."""
    for i, name in enumerate(attrs):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if i == len(attrs) - 1:
            return field
        if not (field.concrete and field.is_relation and (field.many_to_one or field.one_to_one)):
            return None
        model = field.related_model
    return None


def _plain_reader(field, model):
    """``(getter, convert)`` for a field read straight from columns, or None."""
    attrs = field.source_attrs
    if not attrs or model is None:
        return None
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        # DRF's pk-only optimisation: the foreign key's column, answered as is.
        if type(field) is not serializers.PrimaryKeyRelatedField or field.pk_field is not None:
            return None
        target = _model_path(model, attrs)
        if target is None or not (target.concrete and target.many_to_one):
            return None
        return attrgetter(".".join([*attrs[:-1], target.attname])), None
    if type(field) is DisplayField:
        target = _model_path(model, attrs)
        if len(attrs) != 1 or target is None or not target.concrete or target.is_relation:
            return None
        # Bound to the active language per serializer (``_read_plan``).
        return attrgetter(attrs[0]), _Labels(choice_labels(model, attrs[0]))
    if (
        not isinstance(field, _PLAIN_FIELDS)
        or type(field).get_attribute is not serializers.Field.get_attribute
    ):
        return None
    target = _model_path(model, attrs)
    if target is None or not target.concrete or target.is_relation:
        return None
    return attrgetter(".".join(attrs)), field.to_representation


def _flat(field) -> bool:
    """Whether a copy of the unbound ``field`` may share its attributes with the original.

    DRF deep-copies a serializer's fields for each instance, and a field's ``__deepcopy__``
    builds it again from its arguments: for the forty-odd fields of a claim that was a tenth
    of a claim request's time. A field that holds no other field (no ``child``, not a
    serializer) is only ever changed by ``bind`` (its name, parent and source), which sets
    attributes of its own: a copy of its attribute dict is a field of its own. A field that
    holds another (a nested serializer, a list of a child) is copied deeply, or two
    instances would bind the same child to different parents.
    """
    held = [*vars(field).values(), *field._args, *field._kwargs.values()]
    return not isinstance(field, serializers.BaseSerializer) and not any(
        isinstance(value, serializers.Field) for value in held
    )


def _flat_copy(field):
    new = object.__new__(type(field))
    new.__dict__.update(field.__dict__)
    return new


class FastReadMixin:
    # Mixed into a read-only ModelSerializer, before ``serializers.ModelSerializer``. No
    # docstring: drf-spectacular would show it as the description of every such serializer.
    #
    # Besides the read path, the fields are built from the model once per class and copied
    # for each instance (``get_fields``), as DRF already does for declared fields: building
    # them from the model's options cost more than copying them. A field holding no other
    # field is copied flat (``_flat``), not rebuilt from its arguments.

    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_fields_prototype")
        if prototype is None:
            # Unbound fields, the same for every instance: what ModelSerializer builds from
            # Meta, each with whether it may be copied flat (``_flat``).
            prototype = [(name, field, _flat(field)) for name, field in super().get_fields().items()]
            cls._fields_prototype = prototype
        return {name: _flat_copy(field) if flat else copy.deepcopy(field) for name, field, flat in prototype}

    def _read_plan(self):
        plan = self.__dict__.get("_fast_read_plan")
        if plan is None:
            # Which fields are plain, and how each is read, depends on the class only: worked
            # out once per class. A plain field's conversion reads nothing but its own
            # options (the same in every copy), so the first copy's serves every instance.
            cls = type(self)
            readers = cls.__dict__.get("_fast_readers")
            if readers is None:
                model = getattr(getattr(self, "Meta", None), "model", None)
                readers = {f.field_name: _plain_reader(f, model) for f in self._readable_fields}
                cls._fast_readers = readers
            language = get_language()
            plan = []
            for field in self._readable_fields:
                reader = readers.get(field.field_name)
                if reader is not None and isinstance(reader[1], _Labels):
                    getter, labels = reader
                    reader = getter, functools.partial(DisplayField.label_in, labels.table, language)
                plan.append((field.field_name, field, reader))
            self._fast_read_plan = plan
        return plan

    def to_representation(self, instance):
        model = getattr(getattr(self, "Meta", None), "model", None)
        if model is None or not isinstance(instance, model):
            return super().to_representation(instance)
        ret = {}
        for name, field, reader in self._read_plan():
            if reader is not None:
                getter, convert = reader
                try:
                    value = getter(instance)
                except (AttributeError, KeyError, ObjectDoesNotExist):
                    pass  # DRF's path below decides: default, null or skip
                else:
                    if value is None or convert is None:
                        ret[name] = value
                    else:
                        ret[name] = convert(value)
                    continue
            # DRF's own path (Serializer.to_representation), for this field.
            try:
                attribute = field.get_attribute(instance)
            except SkipField:
                continue
            check_for_none = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check_for_none is None else field.to_representation(attribute)
        return ret
