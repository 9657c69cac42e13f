"""Download of a finished report, for the admin and the API alike."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from audit.services import access_log_download
from reports.builders import report_download_name
from reports.models import JobStatus
from reports.periods import Period
from reports.selectors import report_jobs_visible_to


class ReportDownloadView(APIView):
    """``GET reports/<id>/download/``: the file of a finished job.

    Session (the admin) or token (the API) authentication. A job outside the user's scope, not
    finished, or whose file is missing answers 404: nobody learns that another city's report
    exists, and nobody is ever served a file that is not the published, complete one.
    """

    authentication_classes = [SessionAuthentication, TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Download a finished report",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiTypes.BINARY,
            404: None,
        },
    )
    def get(self, request, pk: int):
        job = (
            report_jobs_visible_to(request.user)
            .filter(pk=pk, status=JobStatus.DONE)
            .select_related("bureau__city")
            .first()
        )
        if job is None or not job.file:
            raise Http404
        try:
            handle = default_storage.open(job.file.name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        period = Period(kind=job.period_kind, start=job.period_start, end=job.period_end)
        access_log_download(what=report_download_name(job.kind, job.bureau, period), obj=job)
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=report_download_name(job.kind, job.bureau, period),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["X-Content-SHA256"] = job.checksum
        response["Cache-Control"] = "private, no-store"
        return response
