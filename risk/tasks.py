"""Risk tasks: thin, ids in, one service call."""

from celery import shared_task

from risk import services


@shared_task(name="risk.tasks.compute_claim_signals", acks_late=True)
def compute_claim_signals(claim_id: int) -> int:
    """Signals of one claim just submitted. Idempotent (an upsert), so a redelivered message
    does no harm."""
    return services.signals_compute_for_claim(claim_id=claim_id).signals


@shared_task(name="risk.tasks.recompute_open_claims", acks_late=True)
def recompute_open_claims() -> int:
    """Nightly (beat): every open claim, set-based."""
    return services.signals_recompute_open().signals
