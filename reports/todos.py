"""Reports ready to download, on the admin index (``core.admin_todos``)."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.admin_todos import Todo
from reports.models import JobStatus
from reports.selectors import report_jobs_visible_to

RECENT = datetime.timedelta(days=7)


def report_todos(request) -> list[Todo]:
    """Reports the user requested that finished in the last week."""
    user = request.user
    if not (user.is_bureau_reviewer or user.is_provincial):
        return []
    count = (
        report_jobs_visible_to(user)
        .filter(requested_by=user, status=JobStatus.DONE, finished_at__gte=timezone.now() - RECENT)
        .count()
    )
    url = reverse("admin:reports_reportjob_changelist") + f"?status__exact={JobStatus.DONE}"
    return [Todo(_("Reports ready in the last 7 days"), count, url, _("reports"))]
