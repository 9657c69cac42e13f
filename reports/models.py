"""A row per requested report or list export: the Celery task works from it and reports into it.

The row is a background job in the shape ``reports.jobs`` expects of any job kind (status,
attempts, heartbeat, times, error); see the README's "Background jobs".
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.models import FastLoadModel
from reference.models import Bureau


class ReportKind(models.TextChoices):
    CLAIMS = "claims", _("Claims filing report")
    PLANS = "plans", _("Plan filing report")
    LIST = "list", _("List export")


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReportJob(FastLoadModel, models.Model):
    kind = models.CharField(_("report"), max_length=10, choices=ReportKind.choices)
    bureau = models.ForeignKey(
        Bureau,
        verbose_name=_("bureau"),
        on_delete=models.PROTECT,
        related_name="report_jobs",
        null=True,
        blank=True,
        help_text=_("The provincial department's reports cover the whole province."),
    )
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices, blank=True)
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_end = models.DateField(_("period end"), null=True, blank=True)
    # A list export: which admin list (model label), its filters (the list's query string)
    # and, unless the whole filtered list was chosen, the ids ticked; and its title.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to="reports/%Y/%m/", blank=True)
    checksum = models.CharField(_("SHA-256"), max_length=64, blank=True)
    pdf_file = models.FileField(_("PDF file"), upload_to="reports/%Y/%m/", blank=True)
    pdf_note = models.TextField(_("PDF note"), blank=True)
    # Touched when the job is queued and every few seconds while a worker runs it; the
    # sweeper (reports.jobs) re-queues or fails a job whose heartbeat stopped.
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("report job")
        verbose_name_plural = _("report jobs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="reports_reportjob_period_end_after_start",
                violation_error_message=_("The end of the period cannot be before its start."),
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100),
                name="reports_reportjob_progress_max_100",
                violation_error_message=_("Progress cannot exceed one hundred percent."),
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(file=""),
                name="reports_reportjob_done_has_file",
                violation_error_message=_("A finished report must have its file."),
            ),
            # A filing report is of one bureau and one period; a list export of neither.
            models.CheckConstraint(
                condition=Q(kind="list")
                | (Q(bureau__isnull=False) & Q(period_start__isnull=False) & Q(period_end__isnull=False)),
                name="reports_reportjob_filing_has_bureau_and_period",
                violation_error_message=_("A filing report needs a bureau and a period."),
            ),
            # The monthly schedule files each bureau's report once, even if beat fires twice.
            models.UniqueConstraint(
                fields=["kind", "bureau", "period_kind", "period_start"],
                condition=Q(requested_by__isnull=True),
                name="reports_reportjob_one_scheduled_per_period",
                violation_error_message=_("This bureau's scheduled report for this period already exists."),
            ),
        ]

    def __str__(self) -> str:
        if self.kind == ReportKind.LIST:
            return self.title or self.get_kind_display()
        return f"{self.get_kind_display()} {self.bureau} {self.period_start}–{self.period_end}"

    def get_download_url(self) -> str:
        """Where the finished workbook is served (to whoever may see the job)."""
        from django.urls import reverse

        return reverse("reports:download", args=[self.pk])

    def get_pdf_url(self) -> str:
        from django.urls import reverse

        return reverse("reports:download_pdf", args=[self.pk])
