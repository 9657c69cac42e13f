"""The report jobs in the admin: request a report, watch its progress, download it."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin import NoDeleteAdminMixin, ScopedAdminMixin
from core.errors import ApplicationError
from reports.forms import ReportRequestForm
from reports.models import JobStatus, ReportJob, ReportKind
from reports.periods import Period
from reports.selectors import report_jobs_visible_to
from reports.services import report_request
from subsidies.admin import SubsidyClaimAdmin


@admin.register(ReportJob)
class ReportJobAdmin(ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "bureau",
        "period_display",
        "status",
        "progress_display",
        "row_count",
        "requested_by",
        "created_at",
        "download_link",
    ]
    list_filter = ["kind", "status", "period_kind"]
    list_select_related = ["bureau", "requested_by"]
    readonly_fields = [
        "kind",
        "bureau",
        "period_kind",
        "period_start",
        "period_end",
        "requested_by",
        "status",
        "progress",
        "row_count",
        "download_link",
        "checksum",
        "error",
        "attempts",
        "created_at",
        "started_at",
        "finished_at",
    ]
    fields = readonly_fields
    change_list_template = "admin/reports/reportjob/change_list.html"

    def scope_queryset(self, user, queryset):
        return report_jobs_visible_to(user)

    def has_change_permission(self, request, obj=None):
        # Jobs are written by the service and the task only; the admin views them.
        return False

    @admin.display(description=_("period"))
    def period_display(self, job):
        return Period(kind=job.period_kind, start=job.period_start, end=job.period_end).label()

    @admin.display(description=_("progress (%)"))
    def progress_display(self, job):
        return format_html('<progress max="100" value="{}"></progress> {}%', job.progress, job.progress)

    @admin.display(description=_("file"))
    def download_link(self, job):
        if job.status != JobStatus.DONE or not job.file:
            return "-"
        return format_html('<a href="{}">{}</a>', job.get_download_url(), gettext("Download"))

    def changelist_view(self, request, extra_context=None):
        # Reload the list while a visible job is still being produced, so progress moves and
        # the download link appears without the reviewer pressing F5.
        pending = self.get_queryset(request).filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).exists()
        extra_context = {**(extra_context or {}), "auto_refresh_seconds": 5 if pending else None}
        return super().changelist_view(request, extra_context=extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        """Not a model form: the job is created by ``report_request``, which also enqueues it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = ReportRequestForm(request.POST, user=request.user)
            if form.is_valid():
                try:
                    job = report_request(
                        kind=form.cleaned_data["kind"],
                        bureau=form.cleaned_bureau(),
                        period_kind=form.cleaned_data["period_kind"],
                        period_start=form.cleaned_data["day"],
                        actor=request.user,
                    )
                except ApplicationError as exc:
                    form.add_error(None, str(exc.message))
                else:
                    self.message_user(
                        request,
                        gettext("The report “%(job)s” is being prepared.") % {"job": job},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(reverse("admin:reports_reportjob_changelist"))
        else:
            form = ReportRequestForm(initial=request.GET.dict(), user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Request a filing report"),
            "opts": self.model._meta,
            "form": form,
            "has_view_permission": self.has_view_permission(request),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/reports/reportjob/request_form.html", context)


@admin.action(description=_("Request the claims filing report"))
def request_claims_report(modeladmin, request, queryset):
    """An action for the claims admin: open the report request form for the claims report.

    The form is prefilled with the month of the latest decision among the selected claims,
    the usual reason for selecting them. Added to the claims admin below: the subsidies app
    does not import reports (ARCHITECTURE.md).
    """
    latest = (
        queryset.exclude(decided_at=None).order_by("-decided_at").values_list("decided_at", flat=True).first()
    )
    day = timezone.localdate(latest) if latest else None
    params = {"kind": ReportKind.CLAIMS, "period_kind": "month"}
    if day is not None:
        params["day"] = day.isoformat()
    return HttpResponseRedirect(f"{reverse('admin:reports_reportjob_add')}?{urlencode(params)}")


SubsidyClaimAdmin.add_action(request_claims_report)
