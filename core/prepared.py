"""Queries of a fixed shape, compiled to SQL once per process and run many times.

Django compiles a queryset's SQL on every evaluation (``build_filter``, ``get_select``,
``as_sql``): on a hot path of small indexed lookups that costs more CPU than the database
spends answering them. A :class:`PreparedQuery` is written as an ordinary queryset whose
varying values are :class:`Param` placeholders; it is compiled the first time it runs on a
database alias, and later runs only fill in the values and execute the same SQL through
Django's cursor wrapper (so query logging, ``execute_wrapper`` and the query-count tests see
it). On PostgreSQL, where every query binds its parameters on the server
(``PREPARED_STATEMENTS``, in the settings), psycopg also prepares the statement on its
second run on a connection (core/postgresql): the server then neither parses nor plans it again.

The rows come back as dicts (the queryset must end in ``values()``), with Django's own
converters applied, so a date is a ``date`` on SQLite as on PostgreSQL; :meth:`instances`
builds model instances from the columns named as the model's attributes.

A ``Param`` whose value is ``None`` compares as SQL NULL (never equal): write the query so
that this is what is meant, or pass a value that matches nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections, models
from django.db.models.expressions import Expression

from core.db import chained


class _Slot:
    """Where a parameter goes in the compiled SQL's parameter list."""

    __slots__ = ("field", "name")

    def __init__(self, name: str, field: models.Field):
        self.name = name
        self.field = field


class Param(Expression):
    """A named value filled in at each run: ``filter(trainee_id=Param("trainee", IntegerField()))``."""

    def __init__(self, name: str, output_field: models.Field):
        super().__init__(output_field=output_field)
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"

    def as_sql(self, compiler, connection):
        return "%s", [_Slot(self.name, self.output_field)]

    def get_group_by_cols(self):
        return []


class PreparedQuery:
    """A ``values()`` queryset built by ``build()``, compiled once per database alias."""

    def __init__(self, build: Callable[[], models.QuerySet]):
        self._build = build
        self._compiled: dict[tuple[str, str], tuple] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> tuple:
        connection = connections[using]
        key = (using, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                queryset = self._build()
                compiler = queryset.query.get_compiler(using=using)
                sql, params = compiler.as_sql()
                select = compiler.select[: compiler.col_count]
                names = [alias for _expression, _sql, alias in select]
                if any(name is None for name in names):
                    raise TypeError("a prepared query must end in values()")
                converters = [
                    (index, convs, expression)
                    for index, (convs, expression) in compiler.get_converters(
                        [expression for expression, _sql, _alias in select]
                    ).items()
                ]
                compiled = (sql, tuple(params), tuple(names), converters)
                self._compiled[key] = compiled
        return compiled

    def rows(self, *, using: str = "default", **values: Any) -> list[dict[str, Any]]:
        sql, template, names, converters = self._compile(using)
        connection = connections[using]
        params = [
            slot.field.get_db_prep_value(values[slot.name], connection)
            if isinstance(slot, _Slot) and values[slot.name] is not None
            else (None if isinstance(slot, _Slot) else slot)
            for slot in template
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        # The converters take this thread's connection: chained per run, not once per process.
        columns = [(index, chained(convs, expression, connection)) for index, convs, expression in converters]
        result = []
        for row in fetched:
            if columns:
                row = list(row)
                for index, convert in columns:
                    row[index] = convert(row[index])
            result.append(dict(zip(names, row, strict=True)))
        return result

    def first(self, *, using: str = "default", **values: Any) -> dict[str, Any] | None:
        rows = self.rows(using=using, **values)
        return rows[0] if rows else None


def model_columns(model: type[models.Model], prefix: str = "") -> list[str]:
    """The lookups that select every concrete column of ``model`` in ``values()``, by attribute
    name (``trainee_id``), optionally through a relation (``prefix="plan__"``)."""
    return [prefix + field.attname for field in model._meta.concrete_fields]


def instance_from(
    model: type[models.Model], row: dict[str, Any], *, prefix: str = "", using: str = "default"
):
    """A model instance (as loaded from the database) from a prepared row's columns."""
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    values = [row[prefix + name] for name in names]
    if values[names.index(model._meta.pk.attname)] is None:
        return None
    return model.from_db(using, names, values)
