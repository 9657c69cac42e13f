"""Key rotation for encrypted columns: re-encrypt, in batches, every value not under the active key.

Without downtime: the new key is made active first (the keyring keeps the old one for
reading), so every write from then on uses it; this pass then walks each encrypted column in
primary-key order, a batch per short transaction, and rewrites a value only if it is still
the ciphertext it read (``WHERE pk = %s AND col = old``), so a concurrent write is never
overwritten. When ``pii_key_usage()`` shows no value under the old key, it can be removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, transaction

from core import crypto
from core.pii_fields import encrypted_fields


@dataclass
class RotationReport:
    rewritten: Counter = field(default_factory=Counter)  # "app.model.field" -> values re-encrypted
    skipped: Counter = field(default_factory=Counter)  # changed concurrently (already under the new key)
    failed: Counter = field(default_factory=Counter)  # do not decrypt with any key of the keyring


def encrypted_columns(labels: list[str] | None = None):
    """``(model, field)`` for every encrypted column of the installed, managed models."""
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        if labels and model._meta.label_lower not in labels:
            continue
        for f in encrypted_fields(model):
            yield model, f


def _quoted(model, f):
    qn = connection.ops.quote_name
    return qn(model._meta.db_table), qn(model._meta.pk.column), qn(f.column)


def pii_key_usage(labels: list[str] | None = None) -> dict[str, Counter]:
    """How many stored values each key id encrypts, per column (``"-"``: not encrypted)."""
    usage: dict[str, Counter] = {}
    for model, f in encrypted_columns(labels):
        table, _pk, col = _quoted(model, f)
        counts: Counter = Counter()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {col} FROM {table} WHERE {col} IS NOT NULL AND {col} <> ''")  # noqa: S608
            for (stored,) in cursor.fetchall():
                try:
                    counts[crypto.key_id_of(stored)] += 1
                except crypto.CryptoError:
                    counts["-"] += 1
        usage[f"{model._meta.label_lower}.{f.name}"] = counts
    return usage


def _rewrite_column(
    *, table: str, column: str, pk_column: str, batch_size: int, where: str, params, transform, into: str = ""
) -> int:
    """Rewrite ``column`` of the rows matching ``where`` through ``transform``, in batches of
    ``batch_size`` in primary-key order, each batch its own transaction; a row changed since it
    was read is left alone (the UPDATE compares the old value). With ``into``, the result goes
    to that column instead (a blind index computed from ``column``), whatever it held.
    ``where`` names the columns ``{c}`` and ``{into}``. Returns values written."""
    from django.db import connection as conn

    qn = conn.ops.quote_name
    t, c, pk = qn(table), qn(column), qn(pk_column)
    target = qn(into) if into else c
    where = where.format(c=c, into=target)
    # In place, only if the value is still the one read; into another column, always.
    guard = "" if into else f" AND {c} = %s"
    update = f"UPDATE {t} SET {target} = %s WHERE {pk} = %s{guard}"  # noqa: S608
    written, last_pk = 0, None
    while True:
        with transaction.atomic(), conn.cursor() as cursor:
            clause, args = where, list(params)
            if last_pk is not None:
                clause += f" AND {pk} > %s"
                args.append(last_pk)
            cursor.execute(
                f"SELECT {pk}, {c} FROM {t} WHERE {clause} ORDER BY {pk} LIMIT %s", [*args, batch_size]
            )  # noqa: S608
            rows = cursor.fetchall()
            for row_pk, value in rows:
                cursor.execute(update, [transform(value), row_pk, *([] if into else [value])])
                written += cursor.rowcount
        if not rows:
            return written
        last_pk = rows[-1][0]


def encrypt_column(
    *, table: str, column: str, context: str, pk_column: str = "id", batch_size: int = 500, ring=None
) -> int:
    """Encrypt a column's plain values under the active key, in batches (for data migrations:
    names only, no model, so it runs against any migration state). Returns values written."""
    ring = ring or crypto.keyring()
    return _rewrite_column(
        table=table,
        column=column,
        pk_column=pk_column,
        batch_size=batch_size,
        where="{c} IS NOT NULL AND {c} <> '' AND substr({c}, 1, 3) <> %s",
        params=[crypto.FORMAT_VERSION + "$"],
        transform=lambda plain: crypto.encrypt(plain, context=context, ring=ring),
    )


def index_column(
    *,
    table: str,
    column: str,
    index_column: str,
    context: str,
    domain: str,
    normalizer=None,
    pk_column: str = "id",
    batch_size: int = 500,
    only_missing: bool = True,
    ring=None,
) -> int:
    """(Re)compute a blind index from its column (plain or encrypted values), in batches.

    ``only_missing=False`` recomputes every index: after a new index key (docs/pii.md).
    """
    ring = ring or crypto.keyring()

    def digest(stored):
        plain = crypto.decrypt(stored, context=context, ring=ring) if crypto.is_encrypted(stored) else stored
        return crypto.blind_index(plain, domain=domain, normalizer=normalizer, ring=ring)

    return _rewrite_column(
        table=table,
        column=column,
        pk_column=pk_column,
        batch_size=batch_size,
        where="{c} IS NOT NULL AND {c} <> ''" + (" AND {into} IS NULL" if only_missing else ""),
        params=[],
        transform=digest,
        into=index_column,
    )


def decrypt_column(
    *, table: str, column: str, context: str, pk_column: str = "id", batch_size: int = 500, ring=None
) -> int:
    """The reverse of ``encrypt_column`` (a data migration taken back): plain values again."""
    ring = ring or crypto.keyring()
    return _rewrite_column(
        table=table,
        column=column,
        pk_column=pk_column,
        batch_size=batch_size,
        where="substr({c}, 1, 3) = %s",
        params=[crypto.FORMAT_VERSION + "$"],
        transform=lambda stored: crypto.decrypt(stored, context=context, ring=ring),
    )


@dataclass(frozen=True)
class PlainColumn:
    """A column a data migration encrypts, and its blind index if it has one."""

    table: str
    column: str
    context: str
    index_column: str = ""
    domain: str = ""
    normalizer: Callable[[str], str] | None = None


def encrypt_columns_migration(columns: list[PlainColumn]):
    """``(forward, backward)`` for ``migrations.RunPython``: index from the plaintext first,
    then encrypt; backward decrypts (the indexes are dropped by the schema step's reverse)."""

    def forward(apps, schema_editor):
        for col in columns:
            if col.index_column:
                index_column(
                    table=col.table,
                    column=col.column,
                    index_column=col.index_column,
                    context=col.context,
                    domain=col.domain,
                    normalizer=col.normalizer,
                )
            encrypt_column(table=col.table, column=col.column, context=col.context)

    def backward(apps, schema_editor):
        for col in columns:
            decrypt_column(table=col.table, column=col.column, context=col.context)

    return forward, backward


def pii_reindex(*, labels: list[str] | None = None, batch_size: int = 500) -> dict[str, int]:
    """Recompute every blind index of the installed models (after the index key changed)."""
    from core.pii_fields import BlindIndexField

    done = {}
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        if labels and model._meta.label_lower not in labels:
            continue
        for f in model._meta.concrete_fields:
            if not isinstance(f, BlindIndexField):
                continue
            source = model._meta.get_field(f.source)
            done[f"{model._meta.label_lower}.{f.name}"] = index_column(
                table=model._meta.db_table,
                column=source.column,
                index_column=f.column,
                context=source.context,
                domain=f.domain,
                normalizer=f.normalizer,
                pk_column=model._meta.pk.column,
                batch_size=batch_size,
                only_missing=False,
            )
    return done


def pii_rotate(
    *,
    batch_size: int = 500,
    labels: list[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> RotationReport:
    ring = crypto.keyring()
    prefix = f"{crypto.FORMAT_VERSION}${ring.active_key_id}$"
    report = RotationReport()
    for model, f in encrypted_columns(labels):
        table, pk, col = _quoted(model, f)
        name = f"{model._meta.label_lower}.{f.name}"
        last_pk = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"{col} IS NOT NULL AND {col} <> '' AND substr({col}, 1, %s) <> %s"
                params: list = [len(prefix), prefix]
                if last_pk is not None:
                    where += f" AND {pk} > %s"
                    params.append(last_pk)
                cursor.execute(
                    f"SELECT {pk}, {col} FROM {table} WHERE {where} ORDER BY {pk} LIMIT %s",  # noqa: S608
                    [*params, batch_size],
                )
                rows = cursor.fetchall()
                for row_pk, stored in rows:
                    try:
                        plain = (
                            crypto.decrypt(stored, context=f.context, ring=ring)
                            if crypto.is_encrypted(stored)
                            else stored  # a value written before the column was encrypted
                        )
                    except crypto.CryptoError:
                        report.failed[name] += 1
                        continue
                    cursor.execute(
                        f"UPDATE {table} SET {col} = %s WHERE {pk} = %s AND {col} = %s",  # noqa: S608
                        [crypto.encrypt(plain, context=f.context, ring=ring), row_pk, stored],
                    )
                    if cursor.rowcount == 1:
                        report.rewritten[name] += 1
                    else:
                        report.skipped[name] += 1
            if not rows:
                break
            last_pk = rows[-1][0]
            if progress:
                progress(name, report.rewritten[name])
    return report
