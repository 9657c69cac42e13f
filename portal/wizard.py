"""The claim wizard's steps, declared as data.

Each step names its page and what it needs done before it; the views walk this list, so a
step (for example "supporting documents" before the confirmation) is added by inserting one
entry and its view, without touching the others. The state lives in the session under
``STATE_KEY``: the level certificate chosen, the bureau, whether the payee account was
confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

STATE_KEY = "portal_claim_wizard"


@dataclass(frozen=True)
class Step:
    name: str  # the URL segment: /me/claim/<name>/
    title: str
    # State keys that must be set before this step can be shown.
    needs: tuple[str, ...] = ()


STEPS: list[Step] = [
    Step("certificate", _("Choose a certificate")),
    Step("check", _("Check the rules"), needs=("level_certificate",)),
    Step("payee", _("Payee account"), needs=("level_certificate", "bureau", "checked")),
    Step("confirm", _("Confirm and submit"), needs=("level_certificate", "bureau", "checked", "payee")),
]


def step_named(name: str) -> Step | None:
    return next((s for s in STEPS if s.name == name), None)


def next_step(name: str) -> Step | None:
    names = [s.name for s in STEPS]
    index = names.index(name)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


def first_missing(state: dict, step: Step) -> Step:
    """The earliest step whose work ``step`` still needs (``step`` itself if none is missing)."""
    for earlier in STEPS:
        if earlier.name == step.name:
            return step
        if any(key in step.needs and not state.get(key) for key in _provides(earlier)):
            return earlier
    return step


def _provides(step: Step) -> tuple[str, ...]:
    """What finishing ``step`` sets: the keys the next step needs that this one did not."""
    following = next_step(step.name)
    if following is None:
        return ()
    return tuple(k for k in following.needs if k not in step.needs)
