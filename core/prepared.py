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

A :class:`PreparedQuery`'s rows come back as dicts (the queryset must end in ``values()``),
with Django's own converters applied, so a date is a ``date`` on SQLite as on PostgreSQL;
:func:`instance_from` builds a model instance from the columns named as its attributes. A
:class:`PreparedObjects` is a queryset of whole rows instead: its runs give model instances
with their ``select_related`` rows, a page of them (:class:`PreparedList` for Django's
paginator) or their count.

A ``Param`` whose value is ``None`` compares as SQL NULL (never equal): write the query so
that this is what is meant, or pass a value that matches nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections, models
from django.db.models.expressions import Expression
from django.db.models.query import get_related_populators

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


class _CompiledOnce:
    """What a queryset built by ``build()`` compiles to, kept per database alias (and kind of
    statement) for the life of the process."""

    def __init__(self, build: Callable[[], models.QuerySet]):
        self._build = build
        self._compiled: dict[tuple[str, str, str], tuple] = {}
        self._lock = threading.Lock()

    def _once(self, kind: str, using: str, compile: Callable[[str], tuple]) -> tuple:
        key = (kind, using, connections[using].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    compiled = self._compiled[key] = compile(using)
        return compiled


def _converters(compiler, select) -> list[tuple]:
    """``(index, converters, expression)`` of each selected column Django converts."""
    return [
        (index, convs, expression)
        for index, (convs, expression) in compiler.get_converters([column[0] for column in select]).items()
    ]


class PreparedQuery(_CompiledOnce):
    """A ``values()`` queryset built by ``build()``, compiled once per database alias."""

    def _compile_rows(self, using: str) -> tuple:
        compiler = self._build().query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        select = compiler.select[: compiler.col_count]
        names = [alias for _expression, _sql, alias in select]
        if any(name is None for name in names):
            raise TypeError("a prepared query must end in values()")
        return sql, tuple(params), tuple(names), _converters(compiler, select)

    def rows(self, *, using: str = "default", **values: Any) -> list[dict[str, Any]]:
        sql, template, names, converters = self._once("rows", using, self._compile_rows)
        connection = connections[using]
        rows = _converted(_fetch(connection, sql, template, values), converters, connection)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def first(self, *, using: str = "default", **values: Any) -> dict[str, Any] | None:
        rows = self.rows(using=using, **values)
        return rows[0] if rows else None


def _fetch(connection, sql: str, template: tuple, values: dict[str, Any]) -> list[tuple]:
    """The rows of a compiled query, its ``Param`` slots filled in from ``values``."""
    params = [
        slot.field.get_db_prep_value(values[slot.name], connection)
        if isinstance(slot, _Slot) and values[slot.name] is not None
        else (None if isinstance(slot, _Slot) else slot)
        for slot in template
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _converted(fetched: list[tuple], converters: list[tuple], connection) -> list:
    """The rows with Django's converters applied to their columns."""
    if not converters:
        return fetched
    # The converters take this thread's connection: chained per run, not once per process.
    columns = [(index, chained(convs, expression, connection)) for index, convs, expression in converters]
    result = []
    for row in fetched:
        row = list(row)
        for index, convert in columns:
            row[index] = convert(row[index])
        result.append(row)
    return result


class PreparedObjects(_CompiledOnce):
    """A model queryset built by ``build()``, compiled once per database alias, whose runs
    give the model instances the queryset would give, related rows (``select_related``) and
    deferred columns (``only``) included.

    For the reads of one row or one page that every request of a kind makes, where compiling
    the query (a join of six tables, say) cost more than running it. ``objects(limit=,
    offset=)`` reads a page: Django would write those into the SQL text, so here they are
    parameters. ``count()`` counts the rows the queryset selects. The queryset must not use
    ``values()``, ``annotate()``, ``extra()`` or slicing (``TypeError`` at the first run).
    """

    def _compile_objects(self, using: str) -> tuple:
        query = self._build().query
        if query.is_sliced or query.annotations or query.extra or query.values_select:
            raise TypeError("a prepared model query selects whole rows, unsliced and unannotated")
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return (
            sql,
            tuple(params),
            klass_info["model"],
            (start, end),
            [column[0].target.attname for column in select[start:end]],
            get_related_populators(klass_info, select, using),
            _converters(compiler, select[: compiler.col_count]),
        )

    def _compile_count(self, using: str) -> tuple:
        compiler = self._build().order_by().values("pk").query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        return f"SELECT COUNT(*) FROM ({sql}) counted", tuple(params)

    def objects(
        self, *, using: str = "default", limit: int | None = None, offset: int = 0, **values: Any
    ) -> list[models.Model]:
        compiled = self._once("objects", using, self._compile_objects)
        sql, template, model, (start, end), init_list, populators, converters = compiled
        connection = connections[using]
        if limit is not None:
            sql = f"{sql} LIMIT %s OFFSET %s"
            template = (*template, _Slot("limit", _INTEGER), _Slot("offset", _INTEGER))
            values = {**values, "limit": limit, "offset": offset}
        result = []
        for row in _converted(_fetch(connection, sql, template, values), converters, connection):
            instance = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            result.append(instance)
        return result

    def first(self, *, using: str = "default", **values: Any) -> models.Model | None:
        found = self.objects(using=using, limit=1, **values)
        return found[0] if found else None

    def count(self, *, using: str = "default", **values: Any) -> int:
        sql, template = self._once("count", using, self._compile_count)
        return _fetch(connections[using], sql, template, values)[0][0]


_INTEGER = models.BigIntegerField()


class PreparedList:
    """The rows of a :class:`PreparedObjects` for given values, as Django's ``Paginator`` (and
    so DRF's pagination) reads an object list: ``count()`` and a slice per page."""

    ordered = True  # the queryset's own order: the paginator need not warn

    def __init__(self, query: PreparedObjects, values: dict[str, Any], using: str = "default"):
        self._query = query
        self._values = values
        self._using = using

    def count(self) -> int:
        return self._query.count(using=self._using, **self._values)

    def __getitem__(self, page: slice) -> list[models.Model]:
        if not isinstance(page, slice) or page.step is not None or page.start is None or page.stop is None:
            raise TypeError("a prepared list is read a page (a bounded slice) at a time")
        return self._query.objects(
            using=self._using, limit=max(page.stop - page.start, 0), offset=page.start, **self._values
        )


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
