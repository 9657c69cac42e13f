"""A request that cannot enqueue says so (503, Chinese, JSON in the API) and leaves no job
waiting for a message that was never sent."""

import shutil
import socket
import subprocess
import time
import uuid

import pytest
from django.conf import settings
from kombu import Connection
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from reports import jobs
from reports.models import JobStatus, ReportJob

# Real transactions: the job is sent when the request's own transaction commits, as in
# production (inside the test's wrapping transaction it would only be sent at the test's end).
# serialized_rollback: the role groups of the data migrations survive the flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

URL = "/api/v1/reports/"
BODY = {"kind": "claims", "period_kind": "month", "period_start": "2024-05-01"}


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(kind, job_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(jobs, "_publish", refuse)


def test_api_answers_503_with_a_chinese_message_and_the_job_is_failed_not_queued(
    broker_down, hangzhou_reviewer, api_client_of
):
    client = api_client_of(hangzhou_reviewer)
    response = client.post(URL, BODY, format="json")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "queue_unavailable"
    assert "任务队列暂时不可用" in body["message"] and "稍后" in body["message"]
    assert not ReportJob.objects.filter(status__in=(JobStatus.QUEUED, JobStatus.RUNNING)).exists()
    job = ReportJob.objects.get()
    assert job.status == JobStatus.FAILED and "任务队列暂时不可用" in job.error


def test_once_the_broker_is_back_asking_again_starts_a_new_job(monkeypatch, hangzhou_reviewer, api_client_of):
    sent = []
    calls = iter([OperationalError("down"), None])

    def flaky(kind, job_id):
        error = next(calls)
        if error:
            raise error
        sent.append(job_id)

    monkeypatch.setattr(jobs, "_publish", flaky)
    client = api_client_of(hangzhou_reviewer)
    assert client.post(URL, BODY, format="json").status_code == 503
    response = client.post(URL, BODY, format="json")
    assert response.status_code == 202
    assert sent == [response.json()["id"]]
    assert ReportJob.objects.get(pk=response.json()["id"]).status == JobStatus.QUEUED


def test_admin_request_form_shows_the_message_instead_of_a_500(broker_down, hangzhou_reviewer, client_of):
    client = client_of(hangzhou_reviewer)
    response = client.post(
        "/admin/reports/reportjob/add/",
        {"kind": "claims", "period_kind": "month", "year": "2024", "month": "5"},
    )
    assert response.status_code == 200
    assert "任务队列暂时不可用" in response.content.decode()
    assert not ReportJob.objects.filter(status=JobStatus.QUEUED).exists()


# ------------------------------------------------------------------ a real broker, stopped


def _free_port() -> int:
    # The project's own ports for servers started by its tests: 8120-8129.
    for port in range(8120, 8130):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 8120-8129")


@pytest.fixture
def throwaway_redis(tmp_path):
    """A redis-server of this test's own (never the shared one), on a port of ours."""
    binary = shutil.which("redis-server")
    if binary is None:
        if settings.REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    saved = {k: celery_app.conf[k] for k in ("task_always_eager", "task_default_queue")}
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = f"nobody-{uuid.uuid4().hex[:8]}"  # no worker takes it
    real_publish = jobs._publish

    def publish_to_throwaway(kind, job_id):
        # The real sending code, on a connection to this test's broker instead of the pool's.
        with Connection(f"redis://127.0.0.1:{port}/0", connect_timeout=2) as connection:
            real_publish(kind, job_id, connection=connection)

    jobs._publish = publish_to_throwaway
    try:
        yield process
    finally:
        jobs._publish = real_publish
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        celery_app.conf.update(saved)


def test_broker_stopped_during_requests_first_is_queued_then_503_and_nothing_stranded(
    throwaway_redis, hangzhou_reviewer, api_client_of
):
    client = api_client_of(hangzhou_reviewer)
    first = client.post(URL, BODY, format="json")
    assert first.status_code == 202, first.content
    assert ReportJob.objects.get(pk=first.json()["id"]).status == JobStatus.QUEUED  # the message is in Redis

    throwaway_redis.terminate()  # the broker goes away between two requests
    throwaway_redis.wait(timeout=10)
    ReportJob.objects.filter(pk=first.json()["id"]).update(
        status=JobStatus.FAILED
    )  # a new request, not a dedup

    started = time.monotonic()
    second = client.post(URL, BODY, format="json")
    assert second.status_code == 503
    assert time.monotonic() - started < 30  # said at once, not after minutes of retrying
    assert second.json()["code"] == "queue_unavailable"
    assert second["Content-Type"].startswith("application/json")
    assert not ReportJob.objects.filter(status=JobStatus.QUEUED).exists()
