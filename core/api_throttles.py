"""Throttling of failed logins on the token endpoint.

DRF's rate throttles count every request; a login guard must count *failures* only, and
per account and address: ``API_LOGIN_FAILURE_LIMIT`` failed attempts for one username from
one IP within ``API_LOGIN_FAILURE_WINDOW`` seconds lock that pair out until the window
ends. A success clears the count. The counters live in the cache (Redis in production, so
every web process shares them).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.exceptions import Throttled


def _limit() -> int:
    return int(getattr(settings, "API_LOGIN_FAILURE_LIMIT", 5))


def _window() -> int:
    return int(getattr(settings, "API_LOGIN_FAILURE_WINDOW", 15 * 60))


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy
    # rewrites it, and trusting it would let an attacker pick a fresh key per attempt.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}\x00{ip}".encode()).hexdigest()
    return f"api:login-failures:{digest}"


class LoginFailureGuard:
    """``check()`` before authenticating, ``failed()`` or ``succeeded()`` after."""

    def __init__(self, request, username: str):
        self.key = _key(username or "", client_ip(request))

    def check(self) -> None:
        state = cache.get(self.key)
        if state and state["count"] >= _limit():
            wait = max(1, int(state["until"] - time.time()))
            raise Throttled(wait=wait)

    def failed(self) -> None:
        window = _window()
        state = cache.get(self.key)
        if not state or state["until"] <= time.time():
            state = {"count": 0, "until": time.time() + window}
        state["count"] += 1
        # Not atomic: two concurrent failures may count once. The guard slows guessing
        # down; an off-by-one under a race does not change that.
        cache.set(self.key, state, timeout=max(1, int(state["until"] - time.time())))

    def succeeded(self) -> None:
        cache.delete(self.key)
