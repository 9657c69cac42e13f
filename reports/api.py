"""Filing reports over the API: a bureau (or provincial staff) requests one, follows its
status and downloads the finished file."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.roles import AUTHORITIES
from core.api_fields import DisplayField, SaneDateField
from core.api_filters import IdFilter
from core.api_views import ApiViewSet
from core.errors import ApplicationError
from reference.models import Bureau
from reports.models import JobStatus, PeriodKind, ReportJob, ReportKind
from reports.selectors import report_jobs_visible_to
from reports.services import report_request
from reports.views import PDF, job_file_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportJobSerializer(serializers.ModelSerializer):
    kind_display = DisplayField("kind")
    bureau_name = serializers.CharField(source="bureau.name", read_only=True)
    period_kind_display = DisplayField("period_kind")
    status_display = DisplayField("status")
    download_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportJob
        fields = [
            "id",
            "kind",
            "kind_display",
            "bureau",
            "bureau_name",
            "period_kind",
            "period_kind_display",
            "period_start",
            "period_end",
            "status",
            "status_display",
            "progress",
            "row_count",
            "checksum",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
            "pdf_url",
            "pdf_note",
            "title",
        ]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        """Where the finished file is; null until the job is done."""
        if job.status != JobStatus.DONE:
            return None
        request = self.context.get("request")
        path = f"/api/v1/reports/{job.pk}/download/"
        return request.build_absolute_uri(path) if request is not None else path

    def get_pdf_url(self, job) -> str | None:
        """Where the PDF of the same form is; null until the job is done."""
        if job.status != JobStatus.DONE or not job.pdf_file:
            return None
        request = self.context.get("request")
        path = f"/api/v1/reports/{job.pk}/pdf/"
        return request.build_absolute_uri(path) if request is not None else path


class ReportRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[
            (ReportKind.CLAIMS.value, ReportKind.CLAIMS.label),
            (ReportKind.PLANS.value, ReportKind.PLANS.label),
        ],
        label=gettext_lazy("report"),
    )
    period_kind = serializers.ChoiceField(choices=PeriodKind.choices, label=gettext_lazy("period"))
    period_start = SaneDateField(
        min_year=2023,
        label=gettext_lazy("period start"),
        help_text=gettext_lazy("Any day of the period; the report covers the whole month, quarter or year."),
    )
    bureau = serializers.PrimaryKeyRelatedField(
        queryset=Bureau.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        label=gettext_lazy("bureau"),
        help_text=gettext_lazy(
            "Provincial staff only: another bureau's report. Default: the caller's bureau."
        ),
    )


class ReportJobFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ReportKind.choices)
    period_kind = django_filters.ChoiceFilter(choices=PeriodKind.choices)
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)
    bureau = IdFilter(field_name="bureau_id")
    period_from = django_filters.DateFilter(field_name="period_start", lookup_expr="gte")
    period_until = django_filters.DateFilter(field_name="period_start", lookup_expr="lte")

    class Meta:
        model = ReportJob
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="Report jobs the caller may see"),
    retrieve=extend_schema(summary="One report job: status and progress"),
)
class ReportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Filing reports (补贴申领备案表, 培训计划备案表), produced in the background."""

    serializer_class = ReportJobSerializer
    filterset_class = ReportJobFilter
    ordering_fields = ["id", "created_at", "period_start", "status"]
    ordering = ["-created_at", "-id"]
    action_roles = {
        "list": AUTHORITIES,
        "retrieve": AUTHORITIES,
        "create": AUTHORITIES,
        "download": AUTHORITIES,
        "pdf": AUTHORITIES,
    }

    def get_queryset(self):
        return report_jobs_visible_to(self.request.user)

    @extend_schema(
        summary="Request a report",
        description="Answers 202 with the job; the same report already queued or running is "
        "returned instead of a second one.",
        request=ReportRequestSerializer,
        responses={202: ReportJobSerializer},
    )
    def create(self, request):
        data = ReportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bureau = data.validated_data.pop("bureau") or request.user.bureau
        if bureau is None:
            raise ApplicationError(
                "report_not_permitted",
                gettext("You may request reports only for your own bureau."),
                None,
                status_code=403,
            )
        job = report_request(bureau=bureau, actor=request.user, **data.validated_data)
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Download the finished report",
        responses={
            (200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The Excel file."),
            404: OpenApiResponse(description="No such job in the caller's scope, or it is not finished."),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        # Authenticated and scoped once, by this viewset; the response is the one the admin's
        # download serves: only a finished, complete file, 404 otherwise.
        return job_file_response(self.get_object())

    @extend_schema(
        summary="Download the finished report as PDF (the same form, print-ready)",
        responses={
            (200, PDF): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF file."),
            404: OpenApiResponse(description="No such job in the caller's scope, or it is not finished."),
        },
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk=None):
        return job_file_response(self.get_object(), pdf=True)
