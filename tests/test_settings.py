"""Settings come from the environment; a malformed value stops start-up with a message that
names the variable (and never prints a password)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']), "
    "'cache': s.CACHES['default']['BACKEND'], 'broker': s.CELERY_BROKER_URL, 'eager': s.CELERY_TASK_ALWAYS_EAGER, "
    "'debug': s.DEBUG}))"
)
VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "REQUIRE_SERVICES",
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_TASK_SOFT_TIME_LIMIT",
    "PII_KEY_FILE",
    "PII_KEYS",
    "PII_ACTIVE_KEY_ID",
    "PII_INDEX_KEY",
    "SMS_BACKEND",
)
# A keyring in the environment, for starts with DEBUG off (tests/test_pii_settings.py tests its absence).
PII_ENV = {"PII_KEYS": "t1:" + "A" * 22 + "==", "PII_INDEX_KEY": "B" * 43 + "="}


def _start(*, pii_keys=True, **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # Not the checkout's .env (`make setup` writes a SECRET_KEY there).
    env["ENV_FILE"] = "/dev/null"
    # With DEBUG off the settings need a personal-information key; tests/test_pii_settings.py
    # starts without one.
    if pii_keys:
        env.update(PII_ENV)
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_variables_the_system_uses_sqlite_and_runs_tasks_in_process():
    result = _start(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert '"debug": false' in result.stdout
    assert '"engine": "django.db.backends.sqlite3"' in result.stdout
    assert '"broker": "memory://"' in result.stdout
    assert '"eager": true' in result.stdout


def test_database_url_switches_to_postgresql_and_redis_url_to_redis():
    result = _start(
        DATABASE_URL="postgres://app@db.example:5432/dte",
        REDIS_URL="redis://cache.example:6379/2",
        SECRET_KEY="x" * 50,
    )
    assert result.returncode == 0, result.stderr
    assert '"engine": "core.postgresql"' in result.stdout
    assert '"name": "dte"' in result.stdout
    assert '"cache": "django.core.cache.backends.redis.RedisCache"' in result.stdout
    assert '"broker": "redis://cache.example:6379/2"' in result.stdout
    assert '"eager": false' in result.stdout


def test_prepared_statements_off_keeps_djangos_own_postgresql_backend():
    # Behind PgBouncer before 1.21 in transaction mode (docs/deploy.md).
    result = _start(
        DATABASE_URL="postgres://app@db.example:5432/dte", PREPARED_STATEMENTS="0", SECRET_KEY="x" * 50
    )
    assert result.returncode == 0, result.stderr
    assert '"engine": "django.db.backends.postgresql"' in result.stdout


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DATABASE_URL", "mysql://app@db/dte"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "postgres://app:secret@db:port/dte"),
        ("DATABASE_URL", "postgres://app@db/"),
        ("REDIS_URL", "http://cache:6379/0"),
        ("REDIS_URL", "redis://"),
        ("REDIS_URL", "redis://cache:63x9/0"),
        ("REDIS_URL", "redis://cache:6379/zero"),
        ("DEBUG", "maybe"),
        ("REQUIRE_SERVICES", "sometimes"),
        ("CELERY_TASK_SOFT_TIME_LIMIT", "ten minutes"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(variable, value):
    result = _start(**{"SECRET_KEY": "x" * 50, variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert variable in last_line, last_line
    assert "secret" not in result.stderr


def test_debug_off_requires_a_secret_key():
    result = _start(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr.strip().splitlines()[-1]
    assert _start(DEBUG="0", SECRET_KEY="x" * 50, **PII_ENV).returncode == 0


def test_debug_is_off_unless_asked_for_and_then_needs_no_secret_key():
    assert '"debug": false' in _start(SECRET_KEY="x" * 50).stdout
    result = _start(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert '"debug": true' in result.stdout


DEPLOY_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "q8Zr-3vLx_T0pWm9Yc2Nf7Hs4Kd1Ga6Ej5Ub8Ro0Vi3Xw7Ql2Tn9Sy4Mh6Pe1Cz",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    # Any backend but the log one: in production, the class that talks to the SMS gateway.
    "SMS_BACKEND": "core.sms.LocmemBackend",
}


def _check_deploy(**env_vars):
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES and not k.startswith("SECURE_")}
    env.update(ENV_FILE="/dev/null", DJANGO_SETTINGS_MODULE="config.settings", **PII_ENV, **env_vars)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_tls_settings():
    result = _check_deploy(**DEPLOY_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_what_is_missing_without_them():
    result = _check_deploy(DEBUG="0", SECRET_KEY="k" * 60)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016", "core.W201"):
        assert warning in result.stderr


def test_language_time_zone_and_aware_datetimes():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
