"""The request being served, for the access log: who, from which address, by which door.

Services never take ``request``; the access log still needs the address of the person who
displayed, exported or changed something. ``AccessContextMiddleware`` keeps the current request
in a context variable (one per thread or task), and ``audit.services`` reads it when the caller
names no actor or address. Outside a request (commands, Celery) there is none: channel
``system``.
"""

from __future__ import annotations

from contextvars import ContextVar

_current_request: ContextVar = ContextVar("audit_current_request", default=None)


def current_request():
    return _current_request.get()


def channel_of(request) -> str:
    path = request.path_info or ""
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return "web"


class AccessContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
