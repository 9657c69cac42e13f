"""Bulk jobs under real concurrency, on PostgreSQL: two workers handed the same job (a
redelivered message, the sweeper racing a slow worker) never decide a claim twice, and a job
racing a decision on the claim page leaves each claim decided once."""

from unittest import mock

import pytest

from subsidies import bulk
from subsidies.models import BulkAction, BulkJobStatus, ClaimBulkJob, ClaimEvent, ClaimStatus, SubsidyClaim
from subsidies.services import claim_reject
from subsidies.tests.factories import SubsidyClaimFactory
from subsidies.tests.test_claim_concurrency import run_at_once
from trainees.tests.factories import TraineeFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def claims(hangzhou, hangzhou_bureau):
    return [
        SubsidyClaimFactory(
            level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
                household_city=hangzhou
            ),
            bureau=hangzhou_bureau,
        )
        for _ in range(12)
    ]


def _queued_job(claims, reviewer) -> ClaimBulkJob:
    with mock.patch.object(bulk, "_enqueue"):  # nobody runs it yet: the threads will
        return bulk.bulk_job_start(
            action=BulkAction.APPROVE, claim_ids=[c.pk for c in claims], params={}, actor=reviewer
        )


def test_two_workers_given_the_same_job_approve_each_claim_once(claims, hangzhou_reviewer):
    job = _queued_job(claims, hangzhou_reviewer)
    outcomes = run_at_once([lambda: bulk.bulk_job_run(job_id=job.pk)] * 4)
    assert all(code == "ok" for code, _value in outcomes), outcomes
    ran = [value for _code, value in outcomes if value is not None]
    assert len(ran) == 1  # the conditional update let one worker take it
    job.refresh_from_db()
    assert (job.status, job.succeeded) == (BulkJobStatus.DONE, len(claims))
    assert ClaimEvent.objects.filter(to_status=ClaimStatus.APPROVED).count() == len(claims)


def test_a_job_racing_a_rejection_on_the_claim_page_decides_that_claim_once(claims, hangzhou_reviewer):
    job = _queued_job(claims, hangzhou_reviewer)
    target = claims[-1]
    outcomes = run_at_once(
        [
            lambda: bulk.bulk_job_run(job_id=job.pk),
            lambda: claim_reject(
                claim=SubsidyClaim(pk=target.pk, trainee_id=target.trainee_id),
                actor=hangzhou_reviewer,
                reason="材料不全",
            ),
        ]
    )
    assert all(code in ("ok", "invalid_transition") for code, _value in outcomes), outcomes
    target.refresh_from_db()
    events = ClaimEvent.objects.filter(claim=target).exclude(to_status=ClaimStatus.SUBMITTED)
    assert events.count() == 1  # approved by the job or rejected on the page, not both
    assert target.status in (ClaimStatus.APPROVED, ClaimStatus.REJECTED)
    job.refresh_from_db()
    assert job.status == BulkJobStatus.DONE and job.processed == len(claims)
    item = job.items.get(claim=target)
    assert (item.outcome == "done") == (target.status == ClaimStatus.APPROVED)
