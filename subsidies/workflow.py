"""The claim workflow of SPEC.md as data: state -> next states -> who may move it.

``submitted`` -> ``approved`` -> ``paid``; ``submitted`` -> ``rejected`` (reason required);
``submitted`` -> ``withdrawn`` (by the trainee). Only the bureau the claim was filed to moves
it; only the claim's own trainee withdraws it. Provincial staff see every claim but move none.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from subsidies.models import ClaimStatus, SubsidyClaim


class Mover(models.TextChoices):
    FILING_BUREAU = "filing_bureau", _("The bureau the claim was filed to")
    OWN_TRAINEE = "own_trainee", _("The claim's own trainee")


S = ClaimStatus
TRANSITIONS: dict[str, dict[str, str]] = {
    S.SUBMITTED: {
        S.APPROVED: Mover.FILING_BUREAU,
        S.REJECTED: Mover.FILING_BUREAU,
        S.WITHDRAWN: Mover.OWN_TRAINEE,
    },
    S.APPROVED: {S.PAID: Mover.FILING_BUREAU},
    S.PAID: {},
    S.REJECTED: {},
    S.WITHDRAWN: {},
}


def allowed_targets(status: str) -> dict[str, str]:
    return TRANSITIONS.get(status, {})


def mover_for(target: str) -> str:
    """Who moves a claim into ``target``; the same whichever state it comes from."""
    movers = {mover for targets in TRANSITIONS.values() for to, mover in targets.items() if to == target}
    if len(movers) != 1:
        raise ValueError(f"no single mover for {target!r}")
    return movers.pop()


def is_mover(user, claim: SubsidyClaim, mover: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if mover == Mover.FILING_BUREAU:
        return user.is_reviewer_of_bureau(claim.bureau_id)
    if mover == Mover.OWN_TRAINEE:
        return claim.trainee.user_id is not None and claim.trainee.user_id == user.pk
    return False
