"""Streaming many rows out of the ORM at the cost of the database, not of the row loop.

``stream_values(queryset, fields)`` yields what ``queryset.values_list(*fields).iterator()``
yields, tuple for tuple, for the exports and reports that read every row of a period. Django
applies its per-column converters in a generic loop (a list per row, a call per converter,
each taking the column's expression and the connection); here they are fused into one
generated function per query, and the converters that a report calls a hundred thousand times
with a handful of distinct values are cheaper:

- a decimal column (amounts: a report has a few distinct ones) is converted once per distinct
  raw value and the ``Decimal`` reused (it is immutable);
- on SQLite, a date-time column arrives already parsed by the driver (naive, in the
  connection's time zone) and only needs its zone attached, which is all Django's converter
  does after its checks.

Every other converter (a field's ``from_db_value``, JSON, UUID, …) runs exactly as Django runs
it. ``tests`` compare both streams on every column type a report reads.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import QuerySet
from django.db.models.sql.constants import MULTI

MEMO_LIMIT = 4096


def chained(converters, expression, connection):
    """Django's converters of one column (``compiler.get_converters``), applied in order, as
    one callable of the value (what ``SQLCompiler.apply_converters`` does per column)."""

    def convert(value):
        for converter in converters:
            value = converter(value, expression, connection)
        return value

    return convert


def _memoised(convert):
    memo: dict[Any, Any] = {}

    def convert_once(value):
        if value is None:
            return convert(None)
        try:
            return memo[value]
        except KeyError:
            result = convert(value)
            if len(memo) < MEMO_LIMIT:
                memo[value] = result
            return result

    return convert_once


def _sqlite_datetime(zone, fallback):
    def convert(value):
        if type(value) is datetime.datetime and value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return fallback(value)

    return convert


def _column_converter(converters, expression, connection):
    """One callable for one column: Django's converters, in order, or a cheaper equivalent."""
    convert = chained(converters, expression, connection)
    internal = expression.output_field.get_internal_type()
    if internal == "DecimalField":
        return _memoised(convert)
    if internal == "DateTimeField" and connection.vendor == "sqlite" and len(converters) == 1:
        owner = getattr(converters[0], "__self__", None)
        if owner is connection.ops and connection.timezone is not None:
            return _sqlite_datetime(connection.timezone, convert)
    return convert


def stream_values(queryset: QuerySet, fields: Sequence[str], chunk_size: int = 2000) -> Iterator[tuple]:
    """``queryset.values_list(*fields).iterator(chunk_size)``, with the converters fused."""
    query = queryset.values_list(*fields).query
    compiler = query.get_compiler(using=queryset.db)
    chunked = compiler.connection.features.can_use_chunked_reads  # as QuerySet.iterator() decides
    chunks = compiler.execute_sql(MULTI, chunked_fetch=chunked, chunk_size=chunk_size)
    if chunks is None:  # an empty result known without asking the database
        return
    width = compiler.col_count
    converters = compiler.get_converters([column[0] for column in compiler.select[:width]])
    namespace: dict[str, Any] = {}
    parts = []
    for position in range(width):
        if position in converters:
            column_converters, expression = converters[position]
            namespace[f"c{position}"] = _column_converter(column_converters, expression, compiler.connection)
            parts.append(f"c{position}(r[{position}])")
        else:
            parts.append(f"r[{position}]")
    source = f"def convert(r):\n    return ({', '.join(parts)},)\n"
    exec(compile(source, "<stream converter>", "exec"), namespace)  # noqa: S102
    convert = namespace["convert"]
    for rows in chunks:
        for row in rows:
            yield convert(row)
