"""Model fields that keep personal information encrypted in the database (see ``core/crypto.py``).

The pattern, for a value that must be looked up or kept unique::

    phone = EncryptedCharField(_("phone"), max_length=20, blank=True)
    phone_index = BlindIndexField(source="phone", domain="phone", normalizer=normalize_phone)

    Trainee.objects.filter(**blind_lookup(Trainee, "phone", "13800000000"))

- ``EncryptedCharField`` stores ``v1$<key id>$<SM4-GCM>`` and hands Python the plaintext; a
  comparison in SQL cannot work on it (a fresh nonce per write), so every lookup but
  ``isnull`` and ``exact ""`` is refused loudly rather than silently matching nothing.
- ``BlindIndexField`` is computed from its source on every save (``pre_save``); put the
  ``UniqueConstraint`` on it, and look values up through ``blind_lookup``. A
  ``QuerySet.update()`` of the source bypasses ``pre_save``: services change such values
  through ``save()``.
- A stored value that cannot be decrypted (altered bytes, a key removed too early) reads as an
  ``UndecryptableValue`` (a ``str`` that shows 〈无法解密〉 and refuses to be saved back), so
  one bad row never takes down a list page and the audit verification can name it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django import forms
from django.core import checks, validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact, IsNull

from core import crypto

logger = logging.getLogger(__name__)


class UndecryptableValue(str):
    """What an encrypted column reads as when its value does not decrypt."""

    def __new__(cls, stored: str, reason: str):
        obj = super().__new__(cls, "〈无法解密〉")
        obj.stored = stored
        obj.reason = reason
        return obj


class EncryptedExact(Exact):
    """Only ``field=""`` (or ``None``) makes sense on ciphertext; anything else is a bug."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            raise FieldError(
                f"{self.lhs.target.name} is encrypted: look it up through its blind index (blind_lookup)"
            )
        return self.rhs


class EncryptedCharField(models.TextField):
    """A short text (ID number, phone, account, address) encrypted with SM4-GCM at rest.

    ``max_length`` bounds the plaintext (the form and ``full_clean``); the column is ``text``.
    ``context`` is bound into each ciphertext: by default ``<app>.<model>.<field>``. Set it
    explicitly before renaming a model or field, or existing values stop decrypting.
    """

    description = "Encrypted text (SM4-GCM)"

    def __init__(self, *args, context: str = "", **kwargs):
        self.context = context
        super().__init__(*args, **kwargs)
        if self.max_length:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only=private_only)
        if not self.context:
            self.context = f"{cls._meta.label_lower}.{name}"

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        # The default context is derived; only an explicit one belongs in migrations.
        if self.context and self.context != f"{self.model._meta.label_lower}.{self.name}":
            kwargs["context"] = self.context
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.unique or self.db_index:
            errors.append(
                checks.Error(
                    "An encrypted field cannot be unique or indexed (every write has a fresh nonce).",
                    hint="Put the constraint on a BlindIndexField of it.",
                    obj=self,
                    id="core.E101",
                )
            )
        return errors

    def formfield(self, **kwargs):
        # A short value: a one-line input, not the text area of a TextField (the admin asks
        # for its AdminTextareaWidget by the TextField class; vTextField is its input's style).
        widget = kwargs.get("widget")
        if widget is None or (isinstance(widget, type) and issubclass(widget, forms.Textarea)):
            kwargs["widget"] = forms.TextInput(attrs={"class": "vTextField"})
        return super().formfield(**kwargs)

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return EncryptedExact
        if lookup_name == "isnull":
            return IsNull
        return None

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        if isinstance(value, UndecryptableValue):
            raise ValueError(f"{self.context}: a value that could not be decrypted cannot be saved back")
        if crypto.is_encrypted(value):
            # Already ciphertext (a raw copy between rows of the same column, or a migration
            # that moves stored values): never encrypt twice.
            return value
        return crypto.encrypt(value, context=self.context)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return crypto.decrypt(value, context=self.context)
        except crypto.CryptoError as exc:
            logger.error("%s: a stored value does not decrypt: %s", self.context, exc)
            return UndecryptableValue(value, str(exc))


class BlindIndexField(models.CharField):
    """HMAC-SM3 of the normalised value of ``source``, recomputed on every save.

    ``domain`` names what the value is (``resident_id``, ``account``): two columns holding the
    same kind of value share a domain so their indexes can be compared (a claim's payee account
    against trainees' accounts). Empty source gives NULL, so a unique constraint ignores it.
    """

    description = "Blind index (HMAC-SM3)"

    def __init__(
        self,
        *args,
        source: str = "",
        domain: str = "",
        normalizer: Callable[[str], str] | None = None,
        **kwargs,
    ):
        self.source, self.domain, self.normalizer = source, domain, normalizer
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, domain=self.domain)
        if self.normalizer is not None:
            kwargs["normalizer"] = self.normalizer
        for key, default in (("max_length", 64), ("editable", False), ("null", True), ("blank", True)):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not self.source or not self.domain:
            errors.append(
                checks.Error("A BlindIndexField needs source= and domain=.", obj=self, id="core.E102")
            )
        return errors

    def compute(self, value) -> str | None:
        if value in (None, "") or isinstance(value, UndecryptableValue):
            return None
        return crypto.blind_index(str(value), domain=self.domain, normalizer=self.normalizer)

    def pre_save(self, model_instance, add):
        value = self.compute(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


def blind_index_fields(model) -> list[BlindIndexField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]


def refresh_blind_indexes(instance) -> None:
    """Compute the instance's blind indexes now (``pre_save`` does it on save): ``clean()``
    calls it so that ``full_clean`` checks the unique constraints on them."""
    for field in blind_index_fields(type(instance)):
        setattr(instance, field.attname, field.compute(getattr(instance, field.source)))


class BlindIndexedSaveMixin:
    """``save(update_fields=[source])`` also writes the source's blind index.

    Without it, ``trainee.save(update_fields=["phone"])`` would store the new phone and leave
    the index of the old one, and lookups and risk signals would find the wrong person.
    """

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            extra = [f.name for f in blind_index_fields(type(self)) if f.source in set(update_fields)]
            if extra:
                kwargs["update_fields"] = [*update_fields, *extra]
        return super().save(*args, **kwargs)


def blind_index_field(model, source: str) -> BlindIndexField:
    for field in model._meta.concrete_fields:
        if isinstance(field, BlindIndexField) and field.source == source:
            return field
    raise FieldError(f"{model._meta.label} has no blind index of {source!r}")


def blind_lookup(model, source: str, value: str, *, prefix: str = "") -> dict:
    """Filter keyword arguments that find rows whose ``source`` equals ``value``.

    ``prefix`` follows a relation: ``blind_lookup(Trainee, "resident_id", n, prefix="trainee__")``.
    """
    field = blind_index_field(model, source)
    digest = field.compute(value)
    if digest is None:  # an empty value matches nothing (not every row without one)
        return {f"{prefix}{field.name}__in": []}
    return {f"{prefix}{field.name}": digest}


def encrypted_fields(model) -> list[EncryptedCharField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)]


def blind_lookup_in(model, source: str, values, *, prefix: str = "") -> dict:
    """Filter keyword arguments for ``source`` in ``values`` (an import matching many people)."""
    field = blind_index_field(model, source)
    digests = {digest for digest in (field.compute(v) for v in values) if digest is not None}
    return {f"{prefix}{field.name}__in": sorted(digests)}


class BlindIndexSearchMixin:
    """Admin search for exact values of encrypted fields, through their blind indexes.

    ``blind_search_fields`` lists ``(relation prefix, model, source field)``; the search term
    is matched exactly (after the field's normaliser), in addition to ``search_fields``::

        blind_search_fields = [("trainee__", Trainee, "resident_id")]

    Columns of the model's own encrypted fields are shown but not sortable: the database
    holds ciphertext, so ORDER BY on it is a random order that looks like a sorted one.
    """

    blind_search_fields: tuple = ()

    def get_sortable_by(self, request):
        encrypted = {
            field.name for field in self.model._meta.concrete_fields if isinstance(field, EncryptedCharField)
        }
        return [name for name in super().get_sortable_by(request) if name not in encrypted]

    def get_search_fields(self, request):
        # The admin shows its search box only when there are search fields: an admin that
        # searches by ID number alone gets its blind index (a typed term never equals a
        # digest, so only the exact match below finds rows).
        fields = super().get_search_fields(request)
        if fields or not self.blind_search_fields:
            return fields
        prefix, model, source = self.blind_search_fields[0]
        return (f"={prefix}{blind_index_field(model, source).name}",)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            for prefix, model, source in self.blind_search_fields:
                results = results | queryset.filter(**blind_lookup(model, source, term, prefix=prefix))
        return results, may_have_duplicates
