"""Panels that higher apps add to the claim's admin page, without editing ``subsidies/admin.py``.

The claim page is where a reviewer decides; other apps know things the decision needs (the
payment batch a claim is in, its risk signals, the training behind it). Such an app registers
a *panel provider* at start-up, in its ``AppConfig.ready()``::

    from subsidies.admin_panels import register_claim_panel

    def risk_panel(request, claim):
        signals = signals_for(claim)
        if not signals:
            return None  # nothing to show: no panel
        return _("Risk signals"), "risk/claim_panel.html", {"signals": signals}

    register_claim_panel(risk_panel, order=20)

A provider is ``callable(request, claim) -> (title, template_name, context) | None``. Panels are
rendered in ``order`` (then registration order) below the claim's rules and history; the
template is rendered with ``context`` plus ``claim`` and ``request``. A panel may hold its own
form (it posts to its own app's URL and redirects back to the claim page). This keeps the floors
of ARCHITECTURE.md: subsidies never imports the apps that extend its page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string

PanelProvider = Callable[[Any, Any], "tuple[str, str, dict] | None"]


@dataclass(frozen=True)
class _Registered:
    order: int
    sequence: int
    provider: PanelProvider


_PANELS: list[_Registered] = []


def register_claim_panel(provider: PanelProvider, *, order: int = 100) -> PanelProvider:
    """Add ``provider`` to the claim page; registering the same provider twice is a no-op
    (``ready()`` may run twice in tests)."""
    if not any(p.provider is provider for p in _PANELS):
        _PANELS.append(_Registered(order, len(_PANELS), provider))
    return provider


def unregister_claim_panel(provider: PanelProvider) -> None:
    _PANELS[:] = [p for p in _PANELS if p.provider is not provider]


def claim_panels(request, claim) -> list[dict[str, str]]:
    """Every panel with something to show, rendered: ``[{"title", "html"}]``."""
    rendered = []
    for entry in sorted(_PANELS, key=lambda p: (p.order, p.sequence)):
        panel = entry.provider(request, claim)
        if panel is None:
            continue
        title, template_name, context = panel
        html = render_to_string(template_name, {**context, "claim": claim}, request=request)
        rendered.append({"title": str(title), "html": html})
    return rendered
