"""The request being served, for the access log: who, from which address, by which door.

Services never take ``request``; the access log still needs the address of the person who
displayed, exported or changed something. ``AccessContextMiddleware`` keeps the current request
in a context variable (one per thread or task), and ``audit.services`` reads it when the caller
names no actor or address. Outside a request (commands, Celery) there is none: channel
``system``.
"""

from __future__ import annotations

from contextvars import ContextVar

from django.conf import settings

_current_request: ContextVar = ContextVar("audit_current_request", default=None)


def current_request():
    return _current_request.get()


def client_address(request) -> str:
    """The client's address: the socket's, or the one the trusted proxies put in X-Forwarded-For."""
    proxies = settings.AUDIT_TRUSTED_PROXIES
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:64]
    return (request.META.get("REMOTE_ADDR") or "")[:64]


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
