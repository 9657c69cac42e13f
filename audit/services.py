"""Writes of the audit app: the access log, its archive, and the nightly chain verification.

Every app may call ``access_log_record`` (or the named wrappers below) at the moment it shows
an unmasked value or hands out a file. Outside a request, pass ``actor``; inside one, the
actor, address and channel default to the current request's (``audit.context``).
"""

from __future__ import annotations

import datetime
import io
import json
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import MessageKind, Role
from accounts.services import message_send
from audit.chain import (
    GENESIS,
    ChainReport,
    canonical_value,
    chain_values,
    chained_models,
    locked_head,
    row_hash,
    verify_chain,
)
from audit.context import channel_of, current_request
from audit.models import AccessKind, AccessLog, AccessLogArchive
from core.addresses import client_address
from core.crypto import sm3_hex
from core.errors import ApplicationError

logger = logging.getLogger(__name__)

ARCHIVE_DIR = "audit/access-log"
# What a trainee's full record shows, for ``access_log_unmasked_view(fields=...)``.
TRAINEE_UNMASKED_FIELDS = gettext_lazy("resident ID number, phone, bank account")


def _object_ref(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, str):  # a label such as "subsidies.subsidyclaim" for a list export
        return obj, ""
    return obj._meta.label_lower, str(obj.pk)


def access_log_record(
    *,
    kind: str,
    actor=None,
    username: str = "",
    address: str | None = None,
    channel: str = "",
    obj=None,
    what: str = "",
    row_count: int | None = None,
) -> AccessLog:
    """Append one row to the access log (who, when, from where, which object, what)."""
    request = current_request()
    if request is not None:
        if actor is None:
            user = getattr(request, "user", None)
            actor = user if user is not None and user.is_authenticated else None
        if address is None:
            address = client_address(request)
        channel = channel or channel_of(request)
    object_type, object_id = _object_ref(obj)
    entry = AccessLog(
        kind=AccessKind(kind),
        actor=actor,
        username=(username or (actor.get_username() if actor is not None else ""))[:150],
        address=(address or "")[:64],
        channel=channel or "system",
        object_type=object_type,
        object_id=object_id,
        what=str(what)[:300],
        row_count=row_count,
    )
    entry.save()
    return entry


def access_log_unmasked_view(*, obj, fields: str, actor=None) -> AccessLog:
    """Someone is shown ``fields`` of ``obj`` in full (ID number, phone, account)."""
    return access_log_record(kind=AccessKind.VIEW_UNMASKED, obj=obj, what=fields, actor=actor)


def access_log_export(*, what: str, obj=None, row_count: int | None = None, actor=None) -> AccessLog:
    """A file is made from the data and handed out (a list export, a bank file, an Excel form).

    The hook for every export: payment batch files, filtered admin lists, spot-check samples.
    """
    return access_log_record(kind=AccessKind.EXPORT, obj=obj, what=what, row_count=row_count, actor=actor)


def access_log_download(*, what: str, obj=None, actor=None) -> AccessLog:
    """A stored file (a finished report, a PDF form, an uploaded document) is downloaded."""
    return access_log_record(kind=AccessKind.DOWNLOAD, obj=obj, what=what, actor=actor)


# -- archive ----------------------------------------------------------------------------------


def _archive_line(entry: AccessLog) -> str:
    values = chain_values(entry, AccessLog.chain_fields)
    return json.dumps(
        {
            "chain_seq": entry.chain_seq,
            "chain_hash": entry.chain_hash,
            **{name: canonical_value(value) for name, value in values.items()},
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def access_log_archive(
    *, now: datetime.datetime | None = None, limit: int = 50_000
) -> AccessLogArchive | None:
    """Move access-log rows older than the retention period to a file, never dropping one.

    The oldest rows, in chain order, up to the first row still inside the retention period
    (at most ``limit``), are checked link by link, written as JSON lines to the storage, and
    recorded as an ``AccessLogArchive``; the chain head remembers where the table now starts,
    and only then are the rows deleted (the database refuses to delete a row that is not
    covered by an archive). All in one transaction under the chain's head lock.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    chain = AccessLog.chain_name()
    with transaction.atomic():
        head = locked_head(chain)
        seq, prev = head.archived_seq + 1, head.archived_hash
        rows = []
        for entry in AccessLog._base_manager.filter(chain_seq__gt=head.archived_seq).order_by("chain_seq")[
            :limit
        ]:
            if entry.at >= cutoff:
                break
            if entry.chain_seq != seq or row_hash(
                chain, seq, prev, chain_values(entry, AccessLog.chain_fields)
            ) != (entry.chain_hash):
                raise ApplicationError(
                    "audit_chain_broken",
                    _(
                        "The access log's hash chain is broken at position %(seq)s; nothing was archived. Run verify_audit."
                    )
                    % {"seq": seq},
                )
            rows.append(entry)
            prev, seq = entry.chain_hash, seq + 1
        if not rows:
            return None
        body = ("\n".join(_archive_line(entry) for entry in rows) + "\n").encode("utf-8")
        first, last = rows[0], rows[-1]
        name = default_storage.save(
            f"{ARCHIVE_DIR}/access-log-{first.chain_seq:012d}-{last.chain_seq:012d}.jsonl", ContentFile(body)
        )
        archive = AccessLogArchive.objects.create(
            file=name,
            first_seq=first.chain_seq,
            last_seq=last.chain_seq,
            last_hash=last.chain_hash,
            row_count=len(rows),
            oldest_at=first.at,
            newest_at=max(entry.at for entry in rows),
            file_sm3=sm3_hex(body),
        )
        head.archived_seq, head.archived_hash = last.chain_seq, last.chain_hash
        head.save(update_fields=["archived_seq", "archived_hash", "updated_at"])
        AccessLog._base_manager.filter(chain_seq__gte=first.chain_seq, chain_seq__lte=last.chain_seq).delete()
    return archive


def verify_access_log_archives() -> ChainReport:
    """The archived part of the access log: contiguous, every file intact, every link sound."""
    from audit.models import ChainHead

    chain = AccessLog.chain_name()
    head = ChainHead.objects.filter(chain=chain).first()
    report = ChainReport(chain=f"{chain} (archives)", rows=0, head_seq=0, head_hash=GENESIS)
    seq, prev = 1, GENESIS
    for archive in AccessLogArchive.objects.order_by("first_seq"):
        if archive.first_seq != seq:
            report.problem = _("archive %(file)s starts at position %(first)s, expected %(seq)s") % {
                "file": archive.file,
                "first": archive.first_seq,
                "seq": seq,
            }
            report.seq = seq
            return report
        try:
            with default_storage.open(archive.file, "rb") as handle:
                body = handle.read()
        except (FileNotFoundError, OSError):
            report.problem = _("archive file %(file)s is missing") % {"file": archive.file}
            report.seq = seq
            return report
        if sm3_hex(body) != archive.file_sm3:
            report.problem = _("archive file %(file)s was changed") % {"file": archive.file}
            report.seq = seq
            return report
        for line in io.StringIO(body.decode("utf-8")):
            row = json.loads(line)
            values = {name: row[name] for name in AccessLog.chain_fields}
            # Values in the file are already canonical; the canonical form is idempotent.
            if row["chain_seq"] != seq or row_hash(chain, seq, prev, values) != row["chain_hash"]:
                report.problem = _("archive %(file)s: the link at position %(seq)s is broken") % {
                    "file": archive.file,
                    "seq": seq,
                }
                report.seq = seq
                return report
            prev, seq = row["chain_hash"], seq + 1
            report.rows += 1
        if prev != archive.last_hash or seq - 1 != archive.last_seq:
            report.problem = _("archive %(file)s does not end where its record says") % {"file": archive.file}
            report.seq = seq
            return report
    report.head_seq, report.head_hash = seq - 1, prev
    archived_seq = head.archived_seq if head else 0
    archived_hash = head.archived_hash if head else GENESIS
    if (seq - 1, prev) != (archived_seq, archived_hash):
        report.problem = _(
            "the table starts after position %(archived)s, but the archives end at position %(end)s"
        ) % {
            "archived": archived_seq,
            "end": seq - 1,
        }
        report.seq = seq
    return report


# -- verification -----------------------------------------------------------------------------


def audit_verify() -> list[ChainReport]:
    """Every hash chain, and the access log's archives."""
    reports = [verify_chain(model) for model in sorted(chained_models(), key=lambda m: m._meta.label_lower)]
    reports.append(verify_access_log_archives())
    return reports


def _provincial_staff():
    return get_user_model().objects.filter(Q(role=Role.PROVINCIAL) | Q(is_superuser=True), is_active=True)


def audit_verify_and_alert() -> list[ChainReport]:
    """The nightly check: a broken chain reaches every provincial staff member as a message."""
    reports = audit_verify()
    broken = [r for r in reports if not r.ok]
    if broken:
        body = "\n".join(
            _("%(chain)s: %(problem)s") % {"chain": report.chain, "problem": report.problem}
            for report in broken
        )
        logger.error("Audit chains broken: %s", body)
        with transaction.atomic():
            for user in _provincial_staff():
                message_send(
                    recipient=user,
                    kind=MessageKind.SYSTEM,
                    title=_("Audit records were altered: %(count)s chain(s) broken") % {"count": len(broken)},
                    body=body
                    + "\n"
                    + _(
                        "Someone changed or deleted audit rows in the database. Keep the database as it is, "
                        "compare it with the last backup (docs/backup.md) and report it to the security officer."
                    ),
                )
    return reports
