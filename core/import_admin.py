"""The admin's Excel import as three steps: upload -> preview -> confirm.

Every import page (``ExcelImportAdminMixin`` and the plan's roster and hours imports) goes
through :func:`import_page`, so a new import gets the steps for free:

1. **Upload.** The file is kept in the file store (``default_storage``, shared by every web
   server) under a random name, encrypted (SM4-GCM: it holds ID numbers and accounts), with
   the SHA-256 of the plain file.
2. **Preview.** The import runs in full inside a transaction that is rolled back: the page shows
   what it *would* do (rows, created, updated, unchanged and the spec's own counts) and the first
   rows as read, or every error with a download of the uploaded workbook carrying an error
   column beside each bad row. Nothing is written.
3. **Confirm.** The form carries a signed token naming the stored file and its hash; the file is
   read back, its hash compared (a file replaced in between is refused), and the import runs
   again for real: every check again, all or nothing (``core.xlsx_import.run_import``). The
   summary is in Chinese with links to what was imported.

The reading and checking itself stays in ``core.xlsx_import``; this module only drives it.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import crypto
from core.errors import ApplicationError
from core.excel import safe_text
from core.xlsx_import import ImportRejected, ImportResult, ImportSpec, parse_workbook, run_import

PENDING_DIR = "imports/pending"
TOKEN_SALT = "core.import_admin"
TOKEN_MAX_AGE = 24 * 60 * 60  # a preview left overnight is uploaded again
PREVIEW_ROWS = 10
MAX_ERRORS_SHOWN = 1000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

COUNT_LABELS = {
    "rows": gettext_lazy("rows"),
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "unchanged": gettext_lazy("unchanged"),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Excel file (.xlsx)"))


@dataclass
class Link:
    label: str
    url: str


# -- the stored upload ------------------------------------------------------------------------


# An uploaded file holds ID numbers, phones and accounts: it is kept encrypted at rest like
# the columns (SM4-GCM under the active key, issue 18). A file left over a key rotation reads
# until the old key is removed; the token expires after a day anyway.
UPLOAD_CONTEXT = "core.import_admin.upload"


def _seal(data: bytes) -> bytes:
    return crypto.encrypt(base64.b64encode(data).decode("ascii"), context=UPLOAD_CONTEXT).encode("ascii")


def _unseal(stored: bytes) -> bytes:
    """The upload as it was sent; ``CryptoError`` if the stored file is not what was sealed."""
    try:
        text = stored.decode("ascii")
    except UnicodeDecodeError:
        raise crypto.CryptoError("not a sealed upload") from None
    return base64.b64decode(crypto.decrypt(text, context=UPLOAD_CONTEXT))


def _store(data: bytes, *, user, page: str) -> str:
    """Keep the upload (encrypted); return the signed token that names it, its hash (of the
    plain file), its owner and page."""
    name = default_storage.save(f"{PENDING_DIR}/{uuid.uuid4().hex}.xlsx.sm4", ContentFile(_seal(data)))
    digest = hashlib.sha256(data).hexdigest()
    return signing.dumps({"n": name, "h": digest, "u": user.pk, "p": page}, salt=TOKEN_SALT)


class UploadGone(ApplicationError):
    def __init__(self, message):
        super().__init__("import_upload_invalid", message)


def _load(token: str, *, user, page: str) -> tuple[str, bytes]:
    """The stored upload of ``token``, refused if the token is not this user's for this page,
    has expired, or the file no longer has the hash it had at the preview."""
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise UploadGone(_("The preview has expired: upload the file again.")) from None
    except signing.BadSignature:
        raise UploadGone(_("The preview is not valid: upload the file again.")) from None
    if payload.get("u") != user.pk or payload.get("p") != page:
        raise UploadGone(_("The preview is not valid: upload the file again."))
    name = payload["n"]
    if not name.startswith(f"{PENDING_DIR}/") or not default_storage.exists(name):
        raise UploadGone(_("The previewed file is no longer kept: upload it again."))
    with default_storage.open(name, "rb") as fh:
        stored = fh.read()
    try:
        data = _unseal(stored)
    except crypto.CryptoError:
        data = b""  # replaced or altered in the store: refused below as a changed file
    if hashlib.sha256(data).hexdigest() != payload["h"]:
        raise UploadGone(
            _(
                "The file changed after the preview, so nothing was imported: upload it again and check the preview."
            )
        )
    return name, data


def _discard(name: str) -> None:
    with contextlib.suppress(OSError):  # already gone; the import itself is what matters
        default_storage.delete(name)


def purge_abandoned_uploads(*, now: datetime.datetime | None = None) -> int:
    """Delete kept uploads whose preview was never confirmed and can no longer be.

    A preview's token expires after ``TOKEN_MAX_AGE``; the file behind it then only takes
    space (and holds the people's data of a roster). The hourly schedule runs this; returns
    the number of files deleted.
    """
    cutoff = (now or timezone.now()) - datetime.timedelta(seconds=TOKEN_MAX_AGE)
    try:
        _dirs, files = default_storage.listdir(PENDING_DIR)
    except FileNotFoundError:  # nothing was ever uploaded
        return 0
    removed = 0
    for file_name in files:
        name = f"{PENDING_DIR}/{file_name}"
        with contextlib.suppress(FileNotFoundError):
            if default_storage.get_modified_time(name) < cutoff:
                _discard(name)
                removed += 1
    return removed


# -- preview and errors -------------------------------------------------------------------------


def _dry_run(spec: ImportSpec, data: bytes, ctx: dict[str, Any]) -> ImportResult:
    """The whole import, checks and writes, rolled back: what confirming would do."""
    with transaction.atomic():
        result = run_import(spec, data, ctx=ctx)
        transaction.set_rollback(True)
    return result


def _first_rows(spec: ImportSpec, data: bytes, ctx: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    rows, _errors = parse_workbook(spec, data, ctx)
    headers = [str(c.header) for c in spec.columns]
    shown = []
    for row in rows[:PREVIEW_ROWS]:
        cells = []
        for column in spec.columns:
            value = row.values.get(column.key)
            if value is None:
                value = ""
            elif isinstance(value, bool):
                value = _("yes") if value else _("no")
            cells.append(str(value))
        shown.append([str(row.number), *cells])
    return headers, shown


def describe_counts(spec: ImportSpec, result: dict[str, int]) -> list[tuple[str, int]]:
    """The result's counts with Chinese labels: the four of every import, then the spec's own
    (``spec.result_labels``, e.g. {"enrolled": _("newly enrolled")}); unlabelled keys are left out."""
    labels = {**COUNT_LABELS, **getattr(spec, "result_labels", {})}
    return [(str(labels[key]), value) for key, value in result.items() if key in labels]


def errors_in_workbook(data: bytes, errors: list[dict[str, Any]]) -> bytes:
    """The uploaded workbook, with an error column beside each bad row (and a sheet for errors
    about the whole file), so the clerk corrects the file they know and uploads it again."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font, PatternFill

    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    column = (sheet.max_column or 0) + 1
    header = sheet.cell(row=1, column=column, value=_("Errors (delete this column before importing again)"))
    header.font = Font(bold=True, color="B42318")
    by_row: dict[int, list[str]] = {}
    whole_file = []
    for error in errors:
        text = f"{error['column']}：{error['message']}" if error.get("column") else str(error["message"])
        if error.get("row", 0) >= 2:
            by_row.setdefault(error["row"], []).append(text)
        else:
            whole_file.append(text)
    fill = PatternFill("solid", fgColor="FDECEA")
    for row, texts in by_row.items():
        sheet.cell(row=row, column=column, value=safe_text("；".join(texts))).fill = fill
    sheet.column_dimensions[header.column_letter].width = 60
    if whole_file:
        notes = workbook.create_sheet(_("File errors")[:31])
        for text in whole_file:
            notes.append([safe_text(text)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- the page -----------------------------------------------------------------------------------


def import_page(
    request,
    *,
    model_admin,
    spec_factory: Callable[[], ImportSpec],
    ctx_factory: Callable[[], dict[str, Any]],
    subject: str = "",
    back_url: str,
    template_url: str,
    result_links: Callable[[dict[str, Any], ImportResult], list[Link]] | None = None,
):
    """Upload (GET), preview (POST with a file), confirm (POST ``confirm`` with the token), and the
    error workbook (GET ``?errors=<token>``). ``ctx_factory`` gives a fresh context per run."""
    page = request.path
    spec = spec_factory()
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": str(spec.title),
        "subject": subject,
        "back_url": back_url,
        "back_label": model_admin.model._meta.verbose_name_plural,
        "template_url": template_url,
        "step": "upload",
        "form": UploadForm(),
    }
    status = 200
    try:
        if request.method == "GET" and request.GET.get("errors"):
            return _errors_download(request, spec_factory, ctx_factory, page)
        if request.method == "POST" and "confirm" in request.POST:
            context.update(_confirm(request, spec_factory, ctx_factory, page, result_links))
        elif request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            context["form"] = form
            if form.is_valid():
                context.update(_preview(request, spec_factory, ctx_factory, page, form.cleaned_data["file"]))
    except ApplicationError as exc:
        context["error_message"] = str(exc.message)
    if context.get("error_message"):
        status = 400
        errors = context.get("errors") or []
        context["hidden_errors"] = max(0, len(errors) - MAX_ERRORS_SHOWN)
        context["errors"] = errors[:MAX_ERRORS_SHOWN]
    return TemplateResponse(request, "admin/core/xlsx_import.html", context, status=status)


def _preview(request, spec_factory, ctx_factory, page, upload) -> dict[str, Any]:
    data = b"".join(upload.chunks()) if hasattr(upload, "chunks") else upload.read()
    token = _store(data, user=request.user, page=page)
    spec = spec_factory()
    try:
        result = _dry_run(spec, data, ctx_factory())
    except ImportRejected as exc:
        return {
            "step": "upload",
            "error_message": str(exc.message),
            "errors": exc.detail["errors"],
            "errors_token": token if _is_workbook(data) else "",
        }
    headers, rows = _first_rows(spec_factory(), data, ctx_factory())
    return {
        "step": "preview",
        "file_name": getattr(upload, "name", ""),
        "token": token,
        "counts": describe_counts(spec, result.as_dict()),
        "headers": headers,
        "rows": rows,
        "more_rows": max(0, result.rows - len(rows)),
    }


def _is_workbook(data: bytes) -> bool:
    import zipfile

    return zipfile.is_zipfile(io.BytesIO(data))


def _confirm(request, spec_factory, ctx_factory, page, result_links) -> dict[str, Any]:
    name, data = _load(request.POST.get("token", ""), user=request.user, page=page)
    spec = spec_factory()
    ctx = ctx_factory()
    try:
        result = run_import(spec, data, ctx=ctx)
    except ImportRejected as exc:
        # Something changed in the database since the preview (another clerk's import): the
        # checks ran again and refused; nothing was written.
        return {
            "step": "upload",
            "error_message": str(exc.message),
            "errors": exc.detail["errors"],
            "errors_token": request.POST.get("token", ""),
        }
    _discard(name)
    links = result_links(ctx, result) if result_links else []
    return {"step": "done", "counts": describe_counts(spec, result.as_dict()), "links": links}


def _errors_download(request, spec_factory, ctx_factory, page):
    _name, data = _load(request.GET["errors"], user=request.user, page=page)
    try:
        _dry_run(spec_factory(), data, ctx_factory())
        errors: list[dict[str, Any]] = []
    except ImportRejected as exc:
        errors = exc.detail["errors"]
    response = HttpResponse(errors_in_workbook(data, errors), content_type=XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="import-errors.xlsx"'
    return response
