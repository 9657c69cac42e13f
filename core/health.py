"""Checks for /health/ beyond django-health-check's own (database, cache, storage).

The worker check reads a heartbeat: beat sends ``core.tasks.worker_heartbeat`` every minute,
a worker runs it and stamps the time in the cache. A stamp older than
``WORKER_HEARTBEAT_MAX_AGE`` means no worker has answered lately (or beat is down, which
stops the monthly reports just the same)."""

from __future__ import annotations

import dataclasses
import time

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

HEARTBEAT_KEY = "core:worker-heartbeat"


def heartbeat_record() -> None:
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


@dataclasses.dataclass
class WorkerHeartbeat(HealthCheck):
    def run(self):
        try:
            stamp = cache.get(HEARTBEAT_KEY)
        except Exception as exc:  # the cache check reports the cause; here: unknown
            raise ServiceUnavailable(_("The cache cannot be read.")) from exc
        if stamp is None:
            raise ServiceUnavailable(
                _("No background worker has answered yet: start the Celery worker and beat.")
            )
        age = time.time() - float(stamp)
        if age > settings.WORKER_HEARTBEAT_MAX_AGE:
            raise ServiceUnavailable(
                _(
                    "No background worker has answered for %(seconds)d seconds: check the Celery worker and beat."
                )
                % {"seconds": int(age)}
            )


@dataclasses.dataclass
class Broker(HealthCheck):
    """The Celery broker accepts a connection (Redis in every deployment we document)."""

    def run(self):
        try:
            with current_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as exc:  # kombu raises several types; all mean "unreachable"
            raise ServiceUnavailable(_("The task queue (Redis) cannot be reached.")) from exc


def checks() -> list:
    found: list = [
        "health_check.checks.Database",
        "health_check.checks.Cache",
        "health_check.checks.Storage",
    ]
    if settings.REDIS_URL and not settings.CELERY_TASK_ALWAYS_EAGER:
        found += ["core.health.Broker", "core.health.WorkerHeartbeat"]
    return found
