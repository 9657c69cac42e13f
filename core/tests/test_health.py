"""/health/: the database, cache and storage always; with a broker, the broker and whether a
worker answered recently."""

import time

import pytest
from django.test import Client, override_settings
from health_check.exceptions import ServiceUnavailable

from core import health

REDIS_DOWN = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # Tasks in-process: no broker or worker to check, whatever REDIS_URL says.
    settings.CELERY_TASK_ALWAYS_EAGER = True


@pytest.mark.django_db
def test_health_reports_database_cache_and_storage_as_json():
    response = Client().get("/health/?format=json")
    assert response.status_code == 200
    body = response.json()
    assert set(body.values()) == {"OK"}
    assert {key.split("(")[0] for key in body} == {"Database", "Cache", "Storage"}


@pytest.mark.django_db
@override_settings(CACHES=REDIS_DOWN)
def test_a_cache_that_does_not_answer_fails_the_health_check():
    response = Client().get("/health/?format=json")
    assert response.status_code == 500
    failing = {key.split("(")[0] for key, value in response.json().items() if value != "OK"}
    assert failing == {"Cache"}


def test_with_a_broker_the_broker_and_the_worker_are_checked():
    with override_settings(REDIS_URL="redis://127.0.0.1:6379/0", CELERY_TASK_ALWAYS_EAGER=False):
        assert {"core.health.Broker", "core.health.WorkerHeartbeat"} <= set(health.checks())
    with override_settings(REDIS_URL="", CELERY_TASK_ALWAYS_EAGER=True):
        assert not {"core.health.Broker", "core.health.WorkerHeartbeat"} & set(health.checks())


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "health"}},
    WORKER_HEARTBEAT_MAX_AGE=180,
)
def test_the_worker_check_needs_a_heartbeat_younger_than_the_limit():
    from django.core.cache import cache

    cache.delete(health.HEARTBEAT_KEY)
    with pytest.raises(ServiceUnavailable):
        health.WorkerHeartbeat().run()
    cache.set(health.HEARTBEAT_KEY, time.time() - 600)
    with pytest.raises(ServiceUnavailable, match="600|60[0-9]"):
        health.WorkerHeartbeat().run()
    from core.tasks import worker_heartbeat

    worker_heartbeat.apply()
    health.WorkerHeartbeat().run()  # no exception: a worker answered just now


def test_the_broker_check_fails_when_nothing_listens():
    from celery import current_app

    previous = current_app.conf.broker_url
    current_app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        with pytest.raises(ServiceUnavailable):
            health.Broker().run()
    finally:
        current_app.conf.broker_url = previous


@pytest.mark.redis
def test_the_broker_check_passes_against_the_real_redis(settings):
    from celery import current_app

    previous = current_app.conf.broker_url
    current_app.conf.broker_url = settings.REDIS_URL
    try:
        health.Broker().run()
    finally:
        current_app.conf.broker_url = previous
