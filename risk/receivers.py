"""Risk listens to the claims app (a lower floor announces, risk reacts; ARCHITECTURE.md).

``claim_submitted`` is sent after the claim's transaction has committed, and this receiver
never raises: a signal that cannot be computed is logged and left to the nightly run, and
the trainee keeps their claim.
"""

from __future__ import annotations

import logging

from subsidies.signals import claim_submitted

logger = logging.getLogger(__name__)


def on_claim_submitted(sender, claim_id: int, **kwargs) -> None:
    try:
        from risk.tasks import compute_claim_signals

        compute_claim_signals.delay(claim_id)
    except Exception:  # the broker is down, a rule is broken, …: never the submitter's problem
        logger.exception("risk signals of claim %s not computed; the nightly run will", claim_id)


def connect() -> None:
    claim_submitted.connect(on_claim_submitted, dispatch_uid="risk.on_claim_submitted")
