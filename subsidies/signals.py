"""What the claims app announces, for apps on higher floors to react to (ARCHITECTURE.md).

Sent after the transaction that made the change has committed (``transaction.on_commit``), so
a listener that fails or is slow can neither roll back nor block the change: a risk signal
that cannot be computed never costs the trainee their claim.
"""

from django.dispatch import Signal

# sender=SubsidyClaim, claim_id=int
claim_submitted = Signal()
# sender=SubsidyClaim, claim_id=int, from_status=str, to_status=str
claim_status_changed = Signal()
