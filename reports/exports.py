"""Export a filtered admin list (claims, trainees, plans, certificates) as a print-ready form.

The reviewer or clerk picks "export to Excel" on the list page; the request records the
list's query string (its filters, search and ordering) and, unless the whole filtered list was
chosen, the ticked rows, and a background job writes the form. The worker rebuilds the list
through the same admin's ``ChangeList`` as the requester (``requested_by``): the same filters,
the same scoping (``ScopedAdminMixin``), nothing re-implemented here, and a large list does
not hold the request. The lower apps know nothing of this: ``reports/admin.py`` attaches the
action to their admins.

Each list's columns are declared once, as ``core.excel.Column`` specs (``LIST_EXPORTS``).
"""

from __future__ import annotations

import dataclasses
from typing import IO

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from core import crypto
from core.db import stream_values
from core.errors import ApplicationError
from core.excel import DATE, ID_TEXT, MONEY, SEQUENCE, TEXT, WRAP_TEXT, Column, FormWorkbook
from reference.models import Level
from reports.builders import (
    CHUNK_SIZE,
    PDF_MAX_ROWS,
    PLAN_COLUMNS,
    SEQUENCE_COLUMN,
    ChoiceLabel,
    LocalDate,
    ProgressCallback,
    ReportOutput,
    make_form,
    row_converter,
)
from reports.models import ReportJob
from reports.pdf import PdfSection, write_pdf
from subsidies.models import ClaimBasis, ClaimStatus
from trainees.models import TraineeCategory


@dataclasses.dataclass(frozen=True)
class ListExport:
    title: object
    sheet: object
    columns: tuple[Column, ...]

    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.source for c in self.columns if c.source not in (None, SEQUENCE)))


def _c(header, width, kind, source, convert=None, total=False, unique=False) -> Column:
    return Column(
        header=header, width=width, kind=kind, source=source, convert=convert, total=total, unique=unique
    )


NAME = _c(pgettext_lazy("report column", "Name"), 10, TEXT, "trainee__name", unique=True)
RESIDENT_ID = _c(pgettext_lazy("report column", "Resident ID number"), 21, ID_TEXT, "trainee__resident_id")
OCCUPATION = _c(pgettext_lazy("report column", "Occupation"), 16, WRAP_TEXT, "occupation__name")
LEVEL = _c(pgettext_lazy("report column", "Level"), 6, TEXT, "level", ChoiceLabel(Level))

LIST_EXPORTS: dict[str, ListExport] = {
    "subsidies.subsidyclaim": ListExport(
        # Translators: title of an exported list, 补贴申领清单
        title=gettext_lazy("List of subsidy claims"),
        sheet=pgettext_lazy("report sheet", "Claims"),
        columns=(
            SEQUENCE_COLUMN,
            # Translators: 申领编号
            _c(pgettext_lazy("report column", "Claim number"), 9, TEXT, "pk", unique=True),
            NAME,
            RESIDENT_ID,
            OCCUPATION,
            LEVEL,
            _c(pgettext_lazy("report column", "Place of claim"), 8, TEXT, "bureau__city__name"),
            _c(
                pgettext_lazy("report column", "Basis of claim"),
                16,
                WRAP_TEXT,
                "basis",
                ChoiceLabel(ClaimBasis),
            ),
            _c(pgettext_lazy("report column", "Subsidy amount (yuan)"), 11, MONEY, "amount", total=True),
            _c(pgettext_lazy("report column", "Review status"), 9, TEXT, "status", ChoiceLabel(ClaimStatus)),
            # Translators: 提交日期
            _c(pgettext_lazy("report column", "Submission date"), 11.5, DATE, "submitted_at", LocalDate()),
            _c(pgettext_lazy("report column", "Review date"), 11.5, DATE, "decided_at", LocalDate()),
            _c(pgettext_lazy("report column", "Payment date"), 11.5, DATE, "paid_on"),
        ),
    ),
    "trainees.trainee": ListExport(
        # Translators: title of an exported list, 学员名单
        title=gettext_lazy("List of trainees"),
        # Translators: sheet name, 学员
        sheet=pgettext_lazy("report sheet", "Trainees"),
        columns=(
            SEQUENCE_COLUMN,
            _c(pgettext_lazy("report column", "Name"), 10, TEXT, "name", unique=True),
            _c(pgettext_lazy("report column", "Resident ID number"), 21, ID_TEXT, "resident_id"),
            # Translators: 手机号码
            _c(pgettext_lazy("report column", "Phone"), 13, ID_TEXT, "phone"),
            # Translators: 人员类别
            _c(
                pgettext_lazy("report column", "Category"),
                14,
                WRAP_TEXT,
                "category",
                ChoiceLabel(TraineeCategory),
            ),
            # Translators: 户籍地
            _c(pgettext_lazy("report column", "Household city"), 9, TEXT, "household_city__name"),
            # Translators: 常住地
            _c(pgettext_lazy("report column", "Residence city"), 9, TEXT, "residence_city__name"),
            # Translators: 学校
            _c(pgettext_lazy("report column", "School"), 18, WRAP_TEXT, "school_name"),
        ),
    ),
    "institutions.trainingplan": ListExport(
        # Translators: title of an exported list, 培训计划清单
        title=gettext_lazy("List of training plans"),
        sheet=pgettext_lazy("report sheet", "Plans"),
        columns=PLAN_COLUMNS,  # the plan filing report's columns
    ),
    "certificates.trainingcertificate": ListExport(
        # Translators: title of an exported list, 培训合格证书清单
        title=gettext_lazy("List of training certificates"),
        # Translators: sheet name, 证书
        sheet=pgettext_lazy("report sheet", "Certificates"),
        columns=(
            SEQUENCE_COLUMN,
            # Translators: 证书编号
            _c(pgettext_lazy("report column", "Certificate number"), 18, ID_TEXT, "number"),
            NAME,
            RESIDENT_ID,
            OCCUPATION,
            LEVEL,
            _c(pgettext_lazy("report column", "Training institution"), 18, WRAP_TEXT, "institution__name"),
            _c(pgettext_lazy("report column", "Issue date"), 11.5, DATE, "issued_on"),
        ),
    ),
    "certificates.levelcertificate": ListExport(
        # Translators: title of an exported list, 专业技术等级证书清单
        title=gettext_lazy("List of level certificates"),
        sheet=pgettext_lazy("report sheet", "Certificates"),
        columns=(
            SEQUENCE_COLUMN,
            _c(pgettext_lazy("report column", "Certificate number"), 20, ID_TEXT, "number"),
            NAME,
            RESIDENT_ID,
            OCCUPATION,
            LEVEL,
            _c(pgettext_lazy("report column", "Evaluation institution"), 18, WRAP_TEXT, "evaluator__name"),
            _c(pgettext_lazy("report column", "Issue date"), 11.5, DATE, "issued_on"),
        ),
    ),
}


# A list's query string keeps its search term, which may be a whole ID or phone number typed
# into the search box (found through the blind indexes): a job keeps such a query encrypted.
QUERY_CONTEXT = "reports.reportjob.query"


def seal_list_query(query: str) -> str:
    """``query`` as a job's parameters keep it: encrypted when it has a search term."""
    if QueryDict(query).get("q", "").strip():
        return crypto.encrypt(query, context=QUERY_CONTEXT)
    return query


def unseal_list_query(stored: str) -> str:
    if not crypto.is_encrypted(stored):
        return stored
    try:
        return crypto.decrypt(stored, context=QUERY_CONTEXT)
    except crypto.CryptoError as exc:
        raise ApplicationError(
            "list_export_bad_filter",
            _("The list's filters are no longer valid; open the list and export again."),
            None,
        ) from exc


def list_queryset(job: ReportJob):
    """The rows of the list as ``job.requested_by`` saw it, rebuilt by the same admin."""
    from django.apps import apps

    label = job.params["model"]
    model = apps.get_model(label)
    model_admin = admin.site.get_model_admin(model)
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(unseal_list_query(job.params.get("query", "")))
    request.user = job.requested_by
    request.path = request.path_info = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    request.META["SERVER_NAME"] = "localhost"
    request.META["SERVER_PORT"] = "80"
    if not model_admin.has_view_permission(request):
        raise ApplicationError(
            "list_export_not_permitted", _("You may not see this list."), None, status_code=403
        )
    try:
        changelist = model_admin.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
    except (IncorrectLookupParameters, PermissionDenied) as exc:
        raise ApplicationError(
            "list_export_bad_filter",
            _("The list's filters are no longer valid; open the list and export again."),
            None,
        ) from exc
    if job.params.get("ids") is not None:
        queryset = queryset.filter(pk__in=job.params["ids"])
    return queryset


def build_list_export(
    job: ReportJob, *, xlsx: IO[bytes], pdf: IO[bytes] | None = None, progress: ProgressCallback | None = None
) -> ReportOutput:
    spec = LIST_EXPORTS[job.params["model"]]
    queryset = list_queryset(job)
    total = queryset.count()
    fields = spec.fields()
    index = {name: i for i, name in enumerate(fields)}
    convert = row_converter(spec.columns, index)
    title = str(spec.title)
    # Translators: the line under an exported list's title: 导出人：… 导出时间：…
    subtitle = _("Exported by: %(user)s    At: %(time)s") % {
        "user": job.requested_by.get_full_name() or job.requested_by.get_username(),
        "time": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }
    form = make_form(title, spec.columns, subtitle=subtitle)
    kept: list | None = [] if pdf is not None else None
    count = 0

    def rows():
        nonlocal count, kept
        for raw in stream_values(queryset, fields, CHUNK_SIZE):
            count += 1
            values = convert(raw, count)
            if kept is not None:
                if count <= PDF_MAX_ROWS:
                    kept.append(values)
                else:
                    kept = None
            if progress is not None and count % CHUNK_SIZE == 0:
                progress(count, total)
            yield values

    with FormWorkbook(xlsx) as wb:
        wb.write_sheet(wb.add_sheet(str(spec.sheet)), form, rows())
    output = ReportOutput(rows=count)
    if pdf is not None:
        if kept is None:
            output.pdf_note = _(
                "The list has %(rows)d rows, more than the %(limit)d a PDF holds; print it from the "
                "Excel file, or narrow the list's filters."
            ) % {"rows": count, "limit": PDF_MAX_ROWS}
            section = PdfSection(form=form, rows=[], note=output.pdf_note)
        else:
            section = PdfSection(form=form, rows=kept)
        output.pdf_pages = write_pdf(pdf, [section], title=title)
    return output
