"""Password logins through the login throttle (accounts/throttle.py).

Every password login, whether the admin's form or the API's token endpoint, goes through
``django.contrib.auth.authenticate`` and so through this backend: one mechanism for both.
A refused attempt raises ``PermissionDenied`` (Django stops at it and reports a failed
login) and leaves the wait on the request for the caller to show."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from accounts.throttle import client_address, login_attempt_reserve, login_attempt_succeeded

THROTTLED_FOR = "login_throttled_for"


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is None or password is None:
            # No request: a management command or a test calling authenticate() itself.
            return super().authenticate(request, username=username, password=password, **kwargs)
        address = client_address(request)
        wait = login_attempt_reserve(username=username, address=address)
        if wait is not None:
            setattr(request, THROTTLED_FOR, wait)
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            login_attempt_succeeded(username=username, address=address)
        return user


def login_throttled_for(request) -> int | None:
    return getattr(request, THROTTLED_FOR, None)
