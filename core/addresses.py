"""The client's address, as the apps that count or log per address need it."""

from __future__ import annotations

from django.conf import settings


def client_address(request) -> str:
    """The client's address: the socket's, or, behind ``TRUSTED_PROXIES`` reverse proxies,
    the one they recorded in X-Forwarded-For. Each proxy appends the address it received the
    request from, so behind N proxies the Nth entry from the right is the client's; anything
    to its left the client may have written itself. Empty when unknown.

    gunicorn gives the socket's address, which behind a proxy is the proxy's: every client
    would share one address, and a limit per address (logins, certificate look-ups) would
    stop them all at once."""
    meta = getattr(request, "META", None) or {}
    proxies = settings.TRUSTED_PROXIES
    if proxies:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:64]
    return (meta.get("REMOTE_ADDR") or "")[:64]
