"""To-do counts on the admin index ("待审核 5 件"), contributed by each app.

An app registers a provider in its ``AppConfig.ready()``::

    from core.admin_todos import Todo, register_todo

    def claims_waiting(request):
        if not request.user.is_bureau_reviewer:
            return []
        n = claims_visible_to(request.user).filter(status="submitted").count()
        return [Todo(label=_("Claims waiting for review"), count=n, url=..., unit=_("claims"))]

    register_todo(claims_waiting, order=10)

A provider is ``callable(request) -> iterable of Todo``; it decides for whom it counts (return
nothing for other roles). The index lists every item in ``order``, each linking to the list it
counts, so the number and the list always agree. Core knows no domain: the apps bring the counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Todo:
    label: Any  # e.g. gettext_lazy("Claims waiting for review")
    count: int
    url: str
    unit: Any = ""  # the measure word: 件, 个, 份


TodoProvider = Callable[[Any], Iterable[Todo]]
_PROVIDERS: list[tuple[int, int, TodoProvider]] = []


def register_todo(provider: TodoProvider, *, order: int = 100) -> TodoProvider:
    if not any(p is provider for _o, _s, p in _PROVIDERS):
        _PROVIDERS.append((order, len(_PROVIDERS), provider))
    return provider


def unregister_todo(provider: TodoProvider) -> None:
    _PROVIDERS[:] = [entry for entry in _PROVIDERS if entry[2] is not provider]


def todos_for(request) -> list[Todo]:
    items: list[Todo] = []
    for _order, _seq, provider in sorted(_PROVIDERS, key=lambda e: (e[0], e[1])):
        items.extend(provider(request))
    return items
