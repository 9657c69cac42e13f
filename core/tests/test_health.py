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


@pytest.mark.worker
def test_a_real_worker_answers_the_heartbeat_through_the_broker(settings, tmp_path):
    """A worker started for real, reached only through Redis: its heartbeat makes the worker
    check pass; without it the check fails."""
    import os
    import signal
    import subprocess
    import sys
    import uuid

    from celery import current_app
    from django.core.cache import cache

    from core.tasks import worker_heartbeat

    cache.delete(health.HEARTBEAT_KEY)
    with pytest.raises(ServiceUnavailable):
        health.WorkerHeartbeat().run()
    queue = f"health-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "CELERY_TASK_ALWAYS_EAGER": "0"}
    with open(tmp_path / "worker.log", "wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                f"--queues={queue}",
                f"--hostname={queue}@%h",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def answered(deadline):
            while time.time() < deadline:
                try:
                    health.WorkerHeartbeat().run()
                    return True
                except ServiceUnavailable:
                    time.sleep(0.5)
            return False

        assert answered(time.time() + 120), (tmp_path / "worker.log").read_text()[-2000:]
        cache.delete(health.HEARTBEAT_KEY)  # now only the task can set it again
        eager = current_app.conf.task_always_eager
        current_app.conf.task_always_eager = False  # through the broker, not in this process
        try:
            worker_heartbeat.apply_async(queue=queue, expires=None)
        finally:
            current_app.conf.task_always_eager = eager
        assert answered(time.time() + 60), (tmp_path / "worker.log").read_text()[-2000:]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        with current_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


@pytest.mark.django_db
@override_settings(CACHES=REDIS_DOWN)
def test_the_page_is_in_chinese_and_names_what_does_not_work():
    response = Client().get("/health/", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    page = response.content.decode()
    assert "系统状态" in page and "有服务需要处理" in page
    for label in ("数据库", "缓存", "文件存储"):
        assert label in page
    assert page.count(">异常<") == 1 and page.count(">正常<") == 2
    assert "System status" not in page and "Generated at" not in page


@override_settings(
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "health-zh"}},
)
def test_the_worker_check_says_what_to_do_in_chinese():
    from django.core.cache import cache

    cache.delete(health.HEARTBEAT_KEY)
    with pytest.raises(ServiceUnavailable, match="后台任务进程.*Celery"):
        health.WorkerHeartbeat().run()
