"""Suite-wide set-up: personas, and the rule that service-backed tests skip visibly when a
service is absent, but fail when ``REQUIRE_SERVICES=1`` (CI)."""

import pytest

pytest_plugins = ["tests.personas"]


def pytest_configure(config):
    from django.conf import settings

    # Django 5.2's PBKDF2 runs a million iterations per hash, and every persona is a user
    # with a password: the suite spent minutes hashing. Tests check who may do what, not
    # the strength of the hash; MD5 here keeps logins real and the suite fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests change the data between two looks at the dashboard: figures are computed fresh
    # (dashboard/tests/test_views.py turns the cache on to test it).
    settings.DASHBOARD_CACHE_SECONDS = 0
    settings.PORTAL_FORM_CACHE_SECONDS = 0
    settings.PORTAL_PUBLIC_CACHE_SECONDS = 0

    # Transactional tests on SQLite flush with DELETE, which the append-only triggers refuse.
    from audit.testing import allow_sqlite_flush_of_append_only_tables

    allow_sqlite_flush_of_append_only_tables()


def _redis_reachable() -> tuple[bool, str]:
    from django.conf import settings

    if not settings.REDIS_URL:
        return False, "REDIS_URL is not set"
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # any failure means "not usable here"
        return False, f"Redis at {settings.REDIS_URL} is not reachable: {exc}"
    return True, ""


def _postgres_in_use() -> tuple[bool, str]:
    from django.db import connection

    if connection.vendor != "postgresql":
        return False, "needs PostgreSQL (set DATABASE_URL=postgres://...)"
    return True, ""


SERVICE_MARKERS = {
    "postgres": _postgres_in_use,
    "concurrency": _postgres_in_use,
    "redis": _redis_reachable,
    "worker": _redis_reachable,
}


def pytest_runtest_setup(item):
    from django.conf import settings

    for marker, check in SERVICE_MARKERS.items():
        if item.get_closest_marker(marker) is None:
            continue
        ok, reason = check()
        if ok:
            continue
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
        pytest.skip(reason)
