"""Plans waiting for filing (待备案), on the admin index (``core.admin_todos``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.admin_todos import Todo
from institutions.models import PlanStatus, TrainingPlan


def plan_todos(request) -> list[Todo]:
    """Plans filed with the user's authority and not yet accepted or returned: a city bureau's
    own, and for provincial staff those of the provincial and ministry universities."""
    user = request.user
    if user.is_bureau_reviewer and user.bureau_id:
        plans = TrainingPlan.objects.filter(filing_authority_id=user.bureau_id)
        authority = user.bureau_id
    elif user.is_provincial:
        plans = TrainingPlan.objects.filter(filing_authority__kind="province")
        authority = None
    else:
        return []
    count = plans.filter(status=PlanStatus.FILED).count()
    url = reverse("admin:institutions_trainingplan_changelist") + f"?status__exact={PlanStatus.FILED}"
    if authority is not None:
        url += f"&filing_authority__id__exact={authority}"
    return [Todo(_("Plans waiting for filing"), count, url, _("plans"))]
