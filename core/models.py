"""Model plumbing shared by the apps: no models of its own."""

from __future__ import annotations

from django.db import models


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
