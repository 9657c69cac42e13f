"""Log in to the trainee service with a resident ID number or a phone number and a password."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from accounts.backends import THROTTLED_FOR
from accounts.models import User
from accounts.throttle import client_address, login_attempt_reserve, login_attempt_succeeded
from core import crypto
from portal.services import login_user_for


def _unknown_account_key(identifier: str) -> str:
    """The throttle's key for an identifier that names no account: its blind index, never the
    ID or phone number itself (the counter is a stored row like any other, issue 18)."""
    typed = "".join(str(identifier).split()).upper()
    return "portal:" + crypto.blind_index(typed, domain="portal_login")


class TraineeBackend(ModelBackend):
    """Authenticates trainees only, by ``identifier`` (ID or phone). Staff are never matched:
    they have no trainee record, and they log in through the admin's own form.

    Every attempt goes through the same login throttle as the admin and the API token
    (``accounts.throttle``: per account and per address, counted before the password is
    checked), keyed by the account the identifier names, or by the identifier itself when it
    names none, so guessing unknown identifiers is limited too."""

    def authenticate(self, request, identifier=None, password=None, **kwargs):
        if identifier is None or password is None:
            return None
        user = login_user_for(identifier)
        account = user.username if user is not None else _unknown_account_key(identifier)
        address = client_address(request) if request is not None else None
        if request is not None:
            wait = login_attempt_reserve(username=account, address=address)
            if wait is not None:
                setattr(request, THROTTLED_FOR, wait)
                raise PermissionDenied
        if user is None:
            # Spend the time of a hash anyway, so an unknown ID is not quicker to tell.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user) and not user.is_staff:
            if request is not None:
                login_attempt_succeeded(username=account, address=address)
            return user
        return None
