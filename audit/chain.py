"""Hash chains that make an append-only table tamper-evident (claim events, plan events, the
access log, and at merge the payment events).

Each row of a chained table carries its position in the chain (``chain_seq``, 1, 2, 3...) and
``chain_hash`` = SM3 over the chain's name, the position, the previous row's hash and the
row's canonical content (its ``chain_fields``, as sorted JSON). The chain's head (last position
and hash) is kept in ``audit.ChainHead``; appending locks that row, so two transactions never
take the same position, and the chain's order is the order in which rows were committed.

A database user who changes a row, deletes one (or the last ones) or inserts one breaks the
recomputation at that row, or at the head; ``verify_chain`` walks the chain and names the
first broken link. Someone who rewrites every later row *and* the head is caught only by
comparing with a head recorded elsewhere (the backup manifests, docs/backup.md).

``chain_fields`` is a frozen list: adding a field to a chained model does not add it to the
hash (old rows would stop verifying); add it to the list only with a new chain version.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import Decimal

from django.core import checks
from django.db import connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.crypto import sm3_hex
from core.models import AppendOnlyModel, AppendOnlyQuerySet
from core.prepared import Param, PreparedQuery

GENESIS = "0" * 64


def canonical_value(value):
    if value is None or isinstance(value, bool | int | str):
        return value if not isinstance(value, str) else str(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, datetime.UTC)
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def canonical_content(values: dict) -> bytes:
    return json.dumps(
        {name: canonical_value(value) for name, value in values.items()},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def row_hash(chain: str, seq: int, prev_hash: str, values: dict) -> str:
    return sm3_hex(f"{chain}\n{seq}\n{prev_hash}\n".encode() + canonical_content(values))


def chain_values(obj, field_names) -> dict:
    """The row's content as hashed: attribute names (``claim_id``, not ``claim``)."""
    return {name: getattr(obj, name) for name in field_names}


# Defined here, not in models.py, so that the chain needs nothing from the module that uses it.
class ChainHead(models.Model):
    """The last position and hash of one chain; its row lock serialises appends to the chain.

    ``archived_seq``/``archived_hash`` mark where the rows still in the table begin, when the
    older ones were archived to a file (the access log only).
    """

    chain = models.CharField(_("chain"), max_length=100, primary_key=True)
    seq = models.BigIntegerField(_("last position"), default=0)
    head_hash = models.CharField(_("last hash"), max_length=64, default=GENESIS)
    archived_seq = models.BigIntegerField(_("archived up to position"), default=0)
    archived_hash = models.CharField(_("hash at the archived position"), max_length=64, default=GENESIS)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(archived_seq__lte=models.F("seq")),
                name="audit_chainhead_archived_not_ahead",
                violation_error_message=_(
                    "The archived position cannot be ahead of the chain's last position."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}"


class ChainedQuerySet(AppendOnlyQuerySet):
    """No bulk change or removal: rows of a chain are appended one by one through ``save``."""

    def bulk_create(self, objs, *args, **kwargs):
        # Each row's hash depends on the one before it: append them in order, one by one.
        objs = list(objs)
        with transaction.atomic(using=self.db):
            for obj in objs:
                obj.save(using=self.db)
        return objs


class HashChainedModel(AppendOnlyModel):
    """Mixin for an append-only table whose rows form one hash chain (see the module doc).

    A subclass lists the attribute names that make up a row (``chain_fields``) and, if it has
    its own ``Meta``, subclasses ``HashChainedModel.Meta`` to keep the unique position.
    """

    chain_fields: tuple[str, ...] = ()

    chain_seq = models.BigIntegerField(_("chain position"), editable=False)
    chain_hash = models.CharField(_("chain hash (SM3)"), max_length=64, editable=False)

    objects = ChainedQuerySet.as_manager()

    class Meta(AppendOnlyModel.Meta):
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["chain_seq"],
                name="%(app_label)s_%(class)s_chain_seq_unique",
                violation_error_message=_("Another record took this place in the chain; try again."),
            ),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{self._meta.label} rows are append-only")
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        # No savepoint: a failure here must abort the caller's whole transaction anyway, and
        # the two extra queries per event would be paid by every claim decision.
        with transaction.atomic(using=using, savepoint=False):
            chain = self.chain_name()
            seq, prev_hash = locked_head_position(chain, using=using)
            self.chain_seq = seq + 1
            self.chain_hash = row_hash(
                chain, self.chain_seq, prev_hash, chain_values(self, self.chain_fields)
            )
            kwargs["force_insert"] = True
            super().save(*args, **kwargs)
            move_head(chain, seq=self.chain_seq, head_hash=self.chain_hash, using=using)

    @classmethod
    def chain_name(cls) -> str:
        return cls._meta.label_lower

    @classmethod
    def check(cls, **kwargs):
        errors = super().check(**kwargs)
        if not cls._meta.abstract and not cls.chain_fields:
            errors.append(
                checks.Error("A chained model must list its chain_fields.", obj=cls, id="audit.E001")
            )
        return errors


def locked_head(chain: str, *, using: str = "default"):
    """The chain's head row, locked until the end of the transaction (serialises appends)."""

    heads = ChainHead.objects.using(using).select_for_update()
    try:
        return heads.get(chain=chain)
    except ChainHead.DoesNotExist:
        # The first row of a chain: create the head; a concurrent creator waits on the
        # conflict and then both lock the same row.
        ChainHead.objects.using(using).bulk_create([ChainHead(chain=chain)], ignore_conflicts=True)
        return heads.get(chain=chain)


# Every event of a claim decision appends to a chain: the head's lock and move are fixed-shape
# statements, compiled once (core.prepared) rather than by the ORM on every append.
_LOCKED_HEAD = PreparedQuery(
    lambda: (
        ChainHead.objects.select_for_update()
        .filter(chain=Param("chain", models.CharField()))
        .values("seq", "head_hash")
    )
)


def locked_head_position(chain: str, *, using: str = "default") -> tuple[int, str]:
    """The chain's last position and hash, its head row locked until the end of the transaction."""
    row = _LOCKED_HEAD.first(using=using, chain=chain)
    if row is None:
        head = locked_head(chain, using=using)
        return head.seq, head.head_hash
    return row["seq"], row["head_hash"]


def move_head(chain: str, *, seq: int, head_hash: str, using: str = "default") -> None:
    """Record a new last position and hash on the (locked) head row."""
    connection = connections[using]
    meta = ChainHead._meta
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"{quote(meta.get_field(name).column)} = %s" for name in ("seq", "head_hash", "updated_at")
    )
    updated_at = meta.get_field("updated_at").get_db_prep_value(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.get_field('chain').column)} = %s",
            [seq, head_hash, updated_at, chain],
        )


def chained_models() -> list[type[HashChainedModel]]:
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, HashChainedModel)]


def backfill_chain(model, *, chain: str, field_names, head_model, batch_size: int = 2000) -> int:
    """Chain the rows a table had before it was chained, in primary-key order (for migrations).

    Works on historical models: the caller passes the field list and ``ChainHead`` model.
    Rows must have ``chain_seq`` NULL; returns how many were chained.
    """
    head, _created = head_model.objects.get_or_create(chain=chain)
    if not model._base_manager.filter(chain_seq__isnull=True).exists():
        return 0
    seq, prev = head.seq, head.head_hash
    done = 0
    # Raw update: the append-only guards (queryset, trigger) would refuse a model save.
    while True:
        batch = list(model._base_manager.filter(chain_seq__isnull=True).order_by("pk")[:batch_size])
        if not batch:
            break
        for obj in batch:
            seq += 1
            prev = row_hash(chain, seq, prev, chain_values(obj, field_names))
            obj.chain_seq, obj.chain_hash = seq, prev
        models.QuerySet(model).bulk_update(batch, ["chain_seq", "chain_hash"])
        done += len(batch)
    head.seq, head.head_hash = seq, prev
    head.save()
    return done


@dataclass
class ChainReport:
    chain: str
    rows: int
    head_seq: int
    head_hash: str
    problem: str = ""
    seq: int | None = None  # where it breaks
    pk: object = None

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_chain(model, *, using: str = "default") -> ChainReport:
    """Walk one chain from its start (or its archived prefix) to the head; the first break wins."""

    chain = model.chain_name()
    head = ChainHead.objects.using(using).filter(chain=chain).first()
    seq = (head.archived_seq if head else 0) + 1
    prev = head.archived_hash if head else GENESIS
    rows = 0
    report = ChainReport(
        chain=chain, rows=0, head_seq=head.seq if head else 0, head_hash=head.head_hash if head else ""
    )
    queryset = model._base_manager.using(using).order_by("chain_seq")
    for obj in queryset.iterator(chunk_size=2000):
        if obj.chain_seq != seq:
            report.problem = (
                gettext("positions %(first)s to %(last)s are missing (rows deleted)")
                % {"first": seq, "last": obj.chain_seq - 1}
                if obj.chain_seq > seq
                else gettext("the row at position %(seq)s is out of order") % {"seq": obj.chain_seq}
            )
            report.seq, report.pk, report.rows = seq, obj.pk, rows
            return report
        expected = row_hash(chain, seq, prev, chain_values(obj, model.chain_fields))
        if expected != obj.chain_hash:
            report.problem = gettext("the row with id %(pk)s at position %(seq)s was changed") % {
                "pk": obj.pk,
                "seq": seq,
            }
            report.seq, report.pk, report.rows = seq, obj.pk, rows
            return report
        prev = obj.chain_hash
        seq += 1
        rows += 1
    report.rows = rows
    last = seq - 1
    if head is None:
        if rows:
            report.problem = gettext("the chain's head record is missing")
        return report
    if last != head.seq or prev != head.head_hash:
        report.problem = (
            gettext("positions %(first)s to %(last)s at the end are missing (rows deleted)")
            % {"first": last + 1, "last": head.seq}
            if last < head.seq
            else gettext("the head (position %(head)s) does not match the last row (position %(last)s)")
            % {"head": head.seq, "last": last}
        )
        report.seq = last + 1
    return report
