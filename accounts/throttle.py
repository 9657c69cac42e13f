"""The login throttle shared by the admin login and the API token endpoint.

An attempt is *reserved* before the password is checked: the counters of the account and
of the address are locked (``select_for_update``, in a fixed order so two requests never
deadlock), checked against their limits and incremented in one transaction. So 60 parallel
wrong passwords get at most the limit checked, not however many raced past a read. A
success clears the account's counter and gives the address its attempt back; a failure
simply keeps the reservation.

Per account: ``LOGIN_FAILURE_LIMIT_PER_ACCOUNT`` attempts from anywhere (one password
tried from many addresses). Per address: ``LOGIN_FAILURE_LIMIT_PER_ADDRESS`` attempts on
any accounts (one password tried across many usernames). Both within
``LOGIN_FAILURE_WINDOW`` seconds.
"""

from __future__ import annotations

import datetime
import math

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import LoginAttemptCounter
from core import addresses


def client_address(request) -> str:
    # The socket's address, or the trusted proxy's word for it (core.addresses): never a header
    # the client could have written itself.
    return addresses.client_address(request) or "unknown"


def _account_key(username: str) -> str:
    # The username itself (at most 150 characters, as User.username), so that an
    # administrator can find and clear the counter of a locked-out account in the admin.
    return "account:" + username.strip().lower()[:150]


def _address_key(address: str) -> str:
    return f"address:{address}"[:200]


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    # Sorted: every request locks the two rows in the same order.
    return sorted(
        [
            (_account_key(username), settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT),
            (_address_key(address), settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS),
        ]
    )


def login_attempt_reserve(*, username: str, address: str) -> int | None:
    """Reserve one attempt; ``None`` if it may go ahead, else the seconds to wait."""
    now = timezone.now()
    window = datetime.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    with transaction.atomic():
        counters = []
        for key, limit in _keys(username, address):
            counter, _created = LoginAttemptCounter.objects.select_for_update().get_or_create(
                key=key, defaults={"attempts": 0, "window_ends": now + window}
            )
            if counter.window_ends <= now:
                counter.attempts, counter.window_ends = 0, now + window
            counters.append((counter, limit))
        waits = [c.window_ends - now for c, limit in counters if c.attempts >= limit]
        if waits:
            return max(1, math.ceil(max(waits).total_seconds()))
        for counter, _limit in counters:
            counter.attempts += 1
            counter.save(update_fields=["attempts", "window_ends"])
    return None


def login_attempt_succeeded(*, username: str, address: str) -> None:
    # Account first, as in login_attempt_reserve ("account:" sorts before "address:"), so
    # the two never wait on each other's rows in opposite orders.
    with transaction.atomic():
        LoginAttemptCounter.objects.filter(key=_account_key(username)).update(attempts=0)
        LoginAttemptCounter.objects.filter(key=_address_key(address), attempts__gt=0).update(
            attempts=F("attempts") - 1
        )


def login_counters_purge(*, older_than: datetime.timedelta = datetime.timedelta(days=1)) -> int:
    """Delete counters whose window ended long ago (an hourly beat task)."""
    deleted, _ = LoginAttemptCounter.objects.filter(window_ends__lt=timezone.now() - older_than).delete()
    return deleted
