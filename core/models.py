"""Model plumbing shared by the apps: no models of its own."""

from __future__ import annotations

import functools

from django.db import models
from django.db.models.base import ModelState
from django.db.models.fields.files import FileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init


class AppendOnlyQuerySet(models.QuerySet):
    """The queryset of a log that is only ever appended to (claim and plan events).

    Bulk ``update()`` and ``delete()`` raise, as :class:`AppendOnlyModel` does for one row.
    The database holds the same rule with a trigger (see the owning app's migrations), so
    raw SQL cannot rewrite history either; this guard names the mistake in Python first.
    """

    def update(self, **kwargs):
        raise TypeError(f"{self.model._meta.label} is append-only")

    def delete(self):
        raise TypeError(f"{self.model._meta.label} is append-only")


class AppendOnlyModel(models.Model):
    """A row written once: saving it again or deleting it raises."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError(f"{self._meta.label} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{self._meta.label} is append-only")


# Descriptors whose __set__ (if any) stores the value in the instance's __dict__ as it is.
_PLAIN_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute, FileDescriptor)


@functools.cache
def _loads_plainly(model) -> bool:
    """Whether Django's ``Model.__init__`` would do nothing for ``model`` but set each loaded
    column's attribute: no ``__init__`` of its own, and every column behind Django's plain
    attribute (no descriptor that stores a value differently)."""
    if model.__init__ is not models.Model.__init__:
        return False
    return all(
        type(model.__dict__.get(field.attname) or getattr(model, field.attname, None)) in _PLAIN_DESCRIPTORS
        for field in model._meta.concrete_fields
    )


class FastLoadModel:
    """Mixed into a model (before ``models.Model``) whose rows are read many at a time.

    Django builds each row it loads through ``Model.__init__``: two signals sent with no one
    listening and a ``setattr`` per column. On a page of fifty claims with their trainees,
    certificates, occupations, bureaus and measures that was a tenth of the request. Here a
    loaded row becomes an instance whose attributes are the columns read, and nothing else,
    which is what ``__init__`` would have made of it; a column not read is deferred as
    usual. Django's own path is taken whenever that might not hold: a model with its own
    ``__init__``, a column behind a descriptor of its own, or a ``pre_init``/``post_init``
    receiver connected for the model (``tests/test_fast_load.py``).
    """

    __slots__ = ()

    @classmethod
    def from_db(cls, db, field_names, values):
        if (
            not _loads_plainly(cls)
            # A receiver for any model sends every model to the full check (none is connected).
            or (pre_init.receivers and pre_init.has_listeners(cls))
            or (post_init.receivers and post_init.has_listeners(cls))
        ):
            return super().from_db(db, field_names, values)
        new = cls.__new__(cls)
        new.__dict__.update(zip(field_names, values, strict=True))
        state = new._state = ModelState()
        state.adding = False
        state.db = db
        return new
