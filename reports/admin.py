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
from reports.exports import LIST_EXPORTS
from reports.forms import ReportRequestForm
from reports.models import JobStatus, ReportJob, ReportKind
from reports.periods import Period
from reports.selectors import report_jobs_visible_to
from reports.services import list_export_request, report_request


@admin.register(ReportJob)
class ReportJobAdmin(ScopedAdminMixin, NoDeleteAdminMixin, admin.ModelAdmin):
    # The download first after the report's name: at 1366 px with the sidebar open, the
    # reviewer must never have to scroll sideways to reach it.
    list_display = [
        "report_display",
        "download_link",
        "status_display",
        "row_count",
        "bureau",
        "requested_by",
        "created_at",
    ]
    list_display_links = ["report_display"]
    list_filter = ["kind", "status", "period_kind"]
    list_select_related = ["bureau", "requested_by"]
    readonly_fields = [
        "kind",
        "title",
        "bureau",
        "period_kind",
        "period_start",
        "period_end",
        "requested_by",
        "status",
        "progress",
        "row_count",
        "download_link",
        "pdf_note",
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
        if job.kind == ReportKind.LIST:
            return job.title
        return Period(kind=job.period_kind, start=job.period_start, end=job.period_end).label()

    @admin.display(description=_("progress (%)"))
    def progress_display(self, job):
        return format_html('<progress max="100" value="{}"></progress> {}%', job.progress, job.progress)

    @admin.display(description=_("report"), ordering="-created_at")
    def report_display(self, job):
        return format_html("{}<br><small>{}</small>", job.get_kind_display(), self.period_display(job))

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, job):
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            return format_html(
                '<span style="white-space:nowrap">{}</span><br>'
                '<progress max="100" value="{}" style="width:5em"></progress> {}%',
                job.get_status_display(),
                job.progress,
                job.progress,
            )
        if job.status == JobStatus.FAILED:
            return format_html(
                '{}<br><small title="{}">{}</small>', job.get_status_display(), job.error, job.error[:40]
            )
        return format_html('<span style="white-space:nowrap">{}</span>', job.get_status_display())

    @admin.display(description=_("file"))
    def download_link(self, job):
        if job.status != JobStatus.DONE or not job.file:
            return "-"
        if not job.pdf_file:
            return format_html(
                '<a href="{}" style="white-space:nowrap">{}</a>', job.get_download_url(), gettext("Download")
            )
        return format_html(
            '<span style="white-space:nowrap"><a href="{}">{}</a> | <a href="{}">PDF</a></span>',
            job.get_download_url(),
            gettext("Download"),
            job.get_pdf_url(),
        )

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
                        period_start=form.cleaned_data["period_start"],
                        actor=request.user,
                    )
                except ApplicationError as exc:  # QueueUnavailable included: the job is failed, not left
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
    the usual reason for selecting them. Attached to the claims admin by ``attach_actions``
    below, so that the subsidies app never imports the reports app.
    """
    latest = (
        queryset.exclude(decided_at=None).order_by("-decided_at").values_list("decided_at", flat=True).first()
    )
    day = timezone.localdate(latest) if latest else None
    params = {"kind": ReportKind.CLAIMS, "period_kind": "month"}
    if day is not None:
        params["day"] = day.isoformat()
    return HttpResponseRedirect(f"{reverse('admin:reports_reportjob_add')}?{urlencode(params)}")


@admin.action(description=_("Export the list to Excel (print-ready, with PDF)"))
def export_list(modeladmin, request, queryset):
    """Export the list as the user sees it: its filters, search and scoping; the ticked rows,
    or the whole filtered list when "select all" was chosen. Runs as a background job."""
    label = modeladmin.model._meta.label_lower
    query = request.GET.copy()
    for key in ("_changelist_filters",):
        query.pop(key, None)
    select_across = request.POST.get("select_across") == "1"
    ids = None if select_across else list(queryset.values_list("pk", flat=True))
    try:
        job = list_export_request(model_label=label, query=query.urlencode(), ids=ids, actor=request.user)
    except ApplicationError as exc:
        modeladmin.message_user(request, str(exc.message), messages.ERROR)
        return None
    url = reverse("admin:reports_reportjob_changelist")
    modeladmin.message_user(
        request,
        format_html(
            '{} <a href="{}">{}</a>',
            gettext("The export “%(job)s” is being prepared.") % {"job": job},
            url,
            gettext("Open the report list to download it."),
        ),
        messages.SUCCESS,
    )
    return HttpResponseRedirect(url)


def attach_actions(site=admin.site) -> None:
    """Add the reports' actions to the admins of the lower apps (called from ``ready``).

    The claims admin gets "request the claims filing report"; every list in
    ``LIST_EXPORTS`` gets "export the list". Idempotent: an action already there (by name)
    is not added twice.
    """
    from django.apps import apps

    wanted = {label: [export_list] for label in LIST_EXPORTS}
    wanted.setdefault("subsidies.subsidyclaim", []).insert(0, request_claims_report)
    for label, actions in wanted.items():
        model_admin = (
            site.get_model_admin(apps.get_model(label)) if site.is_registered(apps.get_model(label)) else None
        )
        if model_admin is None:
            continue
        current = list(model_admin.actions or [])
        names = {getattr(a, "__name__", a) for a in current}
        for action in actions:
            if action.__name__ not in names:
                current.append(action)
        model_admin.actions = current
