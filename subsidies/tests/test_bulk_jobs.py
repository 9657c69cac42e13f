"""Bulk decisions over more than a page of claims run as a job: one claim, one transaction;
refusals recorded per claim; a lost worker's job taken up again or failed; the reviewer told."""

import datetime
import io
from unittest import mock

import openpyxl
import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from accounts.models import Message, MessageKind
from core.errors import ApplicationError
from subsidies import bulk
from subsidies.models import (
    BulkAction,
    BulkItemOutcome,
    BulkJobStatus,
    ClaimBulkJob,
    ClaimEvent,
    ClaimStatus,
    ExternalSubsidyRecord,
    SubsidyClaim,
)
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims(hangzhou, hangzhou_bureau):
    made = []
    for _ in range(5):
        trainee = TraineeFactory(household_city=hangzhou)
        made.append(
            SubsidyClaimFactory(
                level_certificate__assessment__training_certificate__enrolment__trainee=trainee,
                bureau=hangzhou_bureau,
            )
        )
    return made


def _fill_year(claim):
    for day in (1, 2, 3):
        ExternalSubsidyRecord.objects.create(
            resident_id=claim.trainee.resident_id,
            name=claim.trainee.name,
            kind=f"技能提升补贴{day}",
            grant_date=datetime.date(claim.claim_year, 1, day),
            amount=100,
        )


def test_a_bulk_approval_decides_each_claim_and_records_refusals(hangzhou_reviewer, claims):
    _fill_year(claims[2])
    job = bulk.bulk_job_start(
        action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
    )
    job.refresh_from_db()  # eager: the task ran on enqueue
    assert (job.status, job.total, job.processed, job.succeeded, job.refused) == (
        BulkJobStatus.DONE,
        5,
        5,
        4,
        1,
    )
    statuses = dict(SubsidyClaim.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in claims] == ["approved", "approved", "submitted", "approved", "approved"]
    refused = job.items.get(outcome=BulkItemOutcome.REFUSED)
    assert refused.claim_id == claims[2].pk and "每年不超过三次" in refused.message
    message = Message.objects.get(recipient=hangzhou_reviewer, kind=MessageKind.JOB)
    assert "批量处理完成" in message.title and "4" in message.body and "1 件未通过" in message.body
    assert message.link == reverse("admin:subsidies_claimbulkjob_change", args=[job.pk])


def test_the_results_download_names_every_claim_and_its_outcome(client_of, hangzhou_reviewer, claims):
    _fill_year(claims[0])
    job = bulk.bulk_job_start(
        action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
    )
    response = client_of(hangzhou_reviewer).get(
        reverse("admin:subsidies_claimbulkjob_results", args=[job.pk])
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("申领编号", "姓名", "身份证号码", "结果", "原因")
    assert len(rows) == 6
    outcomes = {r[0]: r[3] for r in rows[1:]}
    assert outcomes[claims[0].pk] == "未通过" and outcomes[claims[1].pk] == "已完成"
    assert all("*" in r[2] for r in rows[1:])  # masked
    page = client_of(hangzhou_reviewer).get(reverse("admin:subsidies_claimbulkjob_change", args=[job.pk]))
    assert page.status_code == 200 and "每年不超过三次" in page.content.decode()


def test_a_bulk_rejection_needs_a_reason_and_rejects_with_it(hangzhou_reviewer, claims):
    ids = [c.pk for c in claims]
    with pytest.raises(ApplicationError) as exc:
        bulk.bulk_job_start(
            action=BulkAction.REJECT, claim_ids=ids, params={"reason": " "}, actor=hangzhou_reviewer
        )
    assert exc.value.code == "reason_required"
    assert not ClaimBulkJob.objects.exists()
    bulk.bulk_job_start(
        action=BulkAction.REJECT, claim_ids=ids, params={"reason": "材料不全"}, actor=hangzhou_reviewer
    )
    assert set(SubsidyClaim.objects.values_list("status", "reject_reason")) == {("rejected", "材料不全")}


def test_only_the_reviewers_own_claims_enter_a_job(ningbo_reviewer, provincial_staff, claims):
    with pytest.raises(ApplicationError) as exc:
        bulk.bulk_job_start(
            action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=ningbo_reviewer
        )
    assert exc.value.code == "nothing_selected"
    with pytest.raises(ApplicationError):
        bulk.bulk_job_start(
            action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=provincial_staff
        )
    assert not ClaimBulkJob.objects.exists()


def test_a_second_delivery_of_the_message_does_no_double_work(hangzhou_reviewer, claims):
    job = bulk.bulk_job_start(
        action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
    )
    assert bulk.bulk_job_run(job_id=job.pk) is None
    assert ClaimEvent.objects.filter(to_status=ClaimStatus.APPROVED).count() == 5
    assert Message.objects.filter(recipient=hangzhou_reviewer, kind=MessageKind.JOB).count() == 1


def test_a_worker_that_dies_mid_job_leaves_its_claim_undecided_and_the_sweeper_finishes_the_job(
    hangzhou_reviewer, claims
):
    real_approve = bulk.claim_approve
    calls = {"n": 0}

    def dies_on_the_third(*, claim, actor):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")  # not an ApplicationError: the process is gone
        return real_approve(claim=claim, actor=actor)

    # Claims are decided two to a transaction here: the first chunk (claims 1 and 2) commits, the
    # worker dies inside the second, which rolls back whole (claim 3's and 4's items stay pending).
    with (
        mock.patch.object(bulk, "claim_approve", dies_on_the_third),
        mock.patch.object(bulk, "CHUNK", 2),
        pytest.raises(SystemExit),
    ):
        bulk.bulk_job_start(
            action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
        )
    job = ClaimBulkJob.objects.get()
    assert job.status == BulkJobStatus.RUNNING
    assert SubsidyClaim.objects.filter(status="approved").count() == 2
    assert job.items.filter(outcome=BulkItemOutcome.PENDING).count() == 3
    # Within the stale window the sweeper leaves a live job alone ...
    assert bulk.bulk_job_sweep() == {"retried": 0, "failed": 0}
    # ... after it, the job is queued again and (eager) finished by the next worker.
    later = timezone.now() + bulk.STALE_AFTER + datetime.timedelta(seconds=1)
    assert bulk.bulk_job_sweep(now=later) == {"retried": 1, "failed": 0}
    job.refresh_from_db()
    assert (job.status, job.succeeded, job.attempts) == (BulkJobStatus.DONE, 5, 1)
    assert ClaimEvent.objects.filter(to_status=ClaimStatus.APPROVED).count() == 5  # none twice


def test_a_job_whose_worker_keeps_dying_fails_with_a_reason_and_the_reviewer_is_told(
    hangzhou_reviewer, claims
):
    with mock.patch.object(bulk, "_enqueue"):  # the message is lost every time
        job = bulk.bulk_job_start(
            action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
        )
        now = timezone.now()
        for minute in range(2, 12):
            bulk.bulk_job_sweep(now=now + datetime.timedelta(minutes=minute * 3))
    job.refresh_from_db()
    assert job.status == BulkJobStatus.FAILED and "无响应" in job.error
    assert Message.objects.filter(recipient=hangzhou_reviewer, title__contains="批量处理中止").count() == 1
    assert SubsidyClaim.objects.filter(status="submitted").count() == 5


def test_a_broker_that_cannot_be_reached_says_so_and_leaves_a_failed_job(hangzhou_reviewer, claims):
    with (
        mock.patch.object(bulk, "_enqueue", side_effect=ConnectionError("redis down")),
        pytest.raises(ApplicationError) as exc,
    ):
        bulk.bulk_job_start(
            action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
        )
    assert exc.value.code == "queue_unavailable" and "几分钟后再试" in str(exc.value.message)
    assert SubsidyClaim.objects.filter(status="submitted").count() == 5
    job = ClaimBulkJob.objects.get()
    assert job.status == BulkJobStatus.FAILED and job.error


def test_the_admin_action_over_more_than_a_page_starts_a_job(
    client_of, hangzhou_reviewer, claims, monkeypatch
):
    model_admin = admin.site.get_model_admin(SubsidyClaim)
    monkeypatch.setattr(model_admin, "list_per_page", 3)
    response = client_of(hangzhou_reviewer).post(
        reverse("admin:subsidies_subsidyclaim_changelist") + "?status=submitted",
        {
            "action": "approve_selected",
            "select_across": "1",
            "index": "0",
            "_selected_action": [claims[0].pk],
        },
        follow=True,
    )
    assert response.status_code == 200
    job = ClaimBulkJob.objects.get()
    assert job.total == 5 and job.status == BulkJobStatus.DONE
    assert "后台处理" in response.content.decode()


def test_a_claim_that_errors_inside_a_chunk_fails_alone_and_the_claims_before_it_are_decided(
    hangzhou_reviewer, claims
):
    real_approve = bulk.claim_approve
    broken = claims[2].pk

    def breaks_on_one_claim(*, claim, actor):
        if claim.pk == broken:
            raise RuntimeError("a bug, not a refusal")
        return real_approve(claim=claim, actor=actor)

    # All five claims fall in one chunk; the error rolls the chunk back, and its claims are then
    # decided one per transaction: the two before the broken one are approved and recorded.
    with mock.patch.object(bulk, "_enqueue"):
        job = bulk.bulk_job_start(
            action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=hangzhou_reviewer
        )
    with mock.patch.object(bulk, "claim_approve", breaks_on_one_claim), pytest.raises(RuntimeError):
        bulk.bulk_job_run(job_id=job.pk)
    job = ClaimBulkJob.objects.get()
    assert set(SubsidyClaim.objects.filter(status="approved").values_list("pk", flat=True)) == {
        claims[0].pk,
        claims[1].pk,
    }
    assert job.items.filter(outcome=BulkItemOutcome.DONE).count() == 2
    assert job.items.filter(outcome=BulkItemOutcome.PENDING).count() == 3
    assert ClaimEvent.objects.filter(to_status=ClaimStatus.APPROVED).count() == 2
