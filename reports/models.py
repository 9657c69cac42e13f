"""A row per requested filing report: the Celery task works from it and reports into it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from reference.models import Bureau


class ReportKind(models.TextChoices):
    CLAIMS = "claims", _("Claims filing report")
    PLANS = "plans", _("Plan filing report")


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReportJob(models.Model):
    kind = models.CharField(_("report"), max_length=10, choices=ReportKind.choices)
    bureau = models.ForeignKey(
        Bureau,
        verbose_name=_("bureau"),
        on_delete=models.PROTECT,
        related_name="report_jobs",
        help_text=_("The provincial department's reports cover the whole province."),
    )
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
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
                violation_error_message=_("The end of the period must be on or after its start."),
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100),
                name="reports_reportjob_progress_max_100",
                violation_error_message=_("Progress is at most 100%%."),
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(file=""),
                name="reports_reportjob_done_has_file",
                violation_error_message=_("A finished report has its file."),
            ),
            # The monthly schedule files each bureau's report once, even if beat fires twice.
            models.UniqueConstraint(
                fields=["kind", "bureau", "period_kind", "period_start"],
                condition=Q(requested_by__isnull=True),
                name="reports_reportjob_one_scheduled_per_period",
                violation_error_message=_("The scheduled report of this bureau and period already exists."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.bureau} {self.period_start}–{self.period_end}"

    def get_download_url(self) -> str:
        """Where the finished file is served (to the bureau's users and provincial staff)."""
        from django.urls import reverse

        return reverse("reports:download", args=[self.pk])
