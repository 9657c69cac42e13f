"""The reviewer's to-do counts on the admin index (``core.admin_todos``)."""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.admin_todos import Todo
from subsidies.models import ClaimStatus
from subsidies.selectors import claims_visible_to


def claim_todos(request) -> list[Todo]:
    """Claims waiting for the reviewer's decision and approved claims waiting for payment."""
    user = request.user
    if not user.is_bureau_reviewer:
        return []
    counts = dict.fromkeys((ClaimStatus.SUBMITTED, ClaimStatus.APPROVED), 0)
    for row in (
        claims_visible_to(user)
        .filter(status__in=list(counts))
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    ):
        counts[row["status"]] = row["n"]
    url = reverse("admin:subsidies_subsidyclaim_changelist")
    return [
        Todo(
            _("Claims waiting for review"),
            counts[ClaimStatus.SUBMITTED],
            f"{url}?status=submitted",
            _("claims"),
        ),
        Todo(
            _("Approved, not yet paid"), counts[ClaimStatus.APPROVED], f"{url}?status=approved", _("claims")
        ),
    ]
