"""The claim wizard's steps, declared as data.

Each step names its page, the state key finishing it sets (``provides``) and, for a step
only some claims need, the state key that switches it on (``only_if``). The views walk this
list, so a step is added by inserting one entry and its view. The state lives in the session
under ``STATE_KEY``: the level certificate chosen, the bureau, whether the rules were
checked, whether the city's measure asks for documents and they are uploaded, whether the
payee account was confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

STATE_KEY = "portal_claim_wizard"


@dataclass(frozen=True)
class Step:
    name: str  # the URL segment: /me/claim/<name>/
    title: str
    provides: str = ""  # the state key set when the step is done
    only_if: str = ""  # the step belongs to this claim's wizard only when this key is true


STEPS: list[Step] = [
    Step("certificate", _("Choose a certificate"), provides="level_certificate"),
    Step("check", _("Check the rules"), provides="checked"),
    # 各市配套措施: only when the measure of the bureau's city asks documents for the basis
    # (the check step finds out and sets ``documents_required``).
    Step("documents", _("Supporting documents"), provides="documents", only_if="documents_required"),
    Step("payee", _("Payee account"), provides="payee"),
    Step("confirm", _("Confirm and submit")),
]


def steps_for(state: dict) -> list[Step]:
    """The steps of this claim's wizard (a conditional step only when switched on)."""
    return [s for s in STEPS if not s.only_if or state.get(s.only_if)]


def step_named(name: str) -> Step | None:
    return next((s for s in STEPS if s.name == name), None)


def next_step(name: str, state: dict | None = None) -> Step | None:
    steps = steps_for(state or {})
    names = [s.name for s in steps]
    index = names.index(name)
    return steps[index + 1] if index + 1 < len(steps) else None


def first_missing(state: dict, step: Step) -> Step:
    """The earliest step still to be done before ``step`` (``step`` itself if none is).

    A step this claim does not need (no documents asked) sends the trainee to the first
    step not yet done, as does one whose earlier steps are not done.
    """
    steps = steps_for(state)
    for earlier in steps:
        if earlier.name == step.name:
            return step
        if not state.get(earlier.provides):
            return earlier
    # ``step`` is not part of this claim's wizard: the first unfinished step, else the last.
    return next((s for s in steps if s.provides and not state.get(s.provides)), steps[-1])
