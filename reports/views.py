"""Download of a finished report's workbook or PDF, for the admin and the API alike.

``job_file_response`` serves a job the caller has already found in their scope: the session
view below and the API's download actions each authenticate and scope once, then call it.
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.authentication import ExpiringTokenAuthentication
from audit.services import access_log_download
from reports.builders import report_download_name
from reports.models import JobStatus, ReportJob, ReportKind
from reports.periods import Period
from reports.selectors import report_jobs_visible_to

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def download_name(job: ReportJob, extension: str) -> str:
    if job.kind == ReportKind.LIST:
        return f"{job.title or job.get_kind_display()}_{job.pk}.{extension}".replace("/", "-")
    period = Period(kind=job.period_kind, start=job.period_start, end=job.period_end)
    return report_download_name(job.kind, job.bureau, period, extension)


def job_file_response(job: ReportJob, *, pdf: bool = False) -> FileResponse:
    """The finished file of ``job`` (already scoped to the caller); 404 unless it is done."""
    field = job.pdf_file if pdf else job.file
    if job.status != JobStatus.DONE or not field:
        raise Http404
    try:
        handle = default_storage.open(field.name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    name = download_name(job, "pdf" if pdf else "xlsx")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type=PDF if pdf else XLSX,
    )
    if not pdf:
        response["X-Content-SHA256"] = job.checksum
    response["Cache-Control"] = "private, no-store"
    # Every download of a filed report or list export is in the access log (访问审计).
    access_log_download(what=name, obj=job)
    return response


class ReportDownloadView(APIView):
    """``GET reports/<id>/download/`` (workbook) and ``reports/<id>/pdf/`` (PDF).

    Session (the admin) or token authentication. A job outside the user's scope, not
    finished, or whose file is missing answers 404: nobody learns that another city's report
    exists, and nobody is ever served a file that is not the published, complete one.
    """

    authentication_classes = [SessionAuthentication, ExpiringTokenAuthentication]
    permission_classes = [IsAuthenticated]
    pdf = False

    @extend_schema(exclude=True)
    def get(self, request, pk: int):
        job = report_jobs_visible_to(request.user).filter(pk=pk).select_related("bureau__city").first()
        if job is None:
            raise Http404
        return job_file_response(job, pdf=self.pdf)


class ReportPdfDownloadView(ReportDownloadView):
    pdf = True
