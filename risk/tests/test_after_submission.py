"""Signals are computed after a claim is submitted, outside its transaction: a failure there
never blocks or rolls back the submission."""

import pytest

from config.celery import app as celery_app
from risk import services
from risk.models import RiskSignal, SignalCode
from subsidies.models import ClaimStatus, SubsidyClaim
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def eager():
    """Run the task in-process whatever the environment's broker."""
    previous, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, True
    yield
    celery_app.conf.task_always_eager = previous


def test_submitting_a_claim_computes_its_signals_after_commit(
    today, trainee, certify, submit, hangzhou, django_capture_on_commit_callbacks
):
    trainee.phone = "13800009999"
    trainee.save()
    for _ in range(2):
        TraineeFactory(household_city=hangzhou, phone="13800009999")
    training, level = certify(trainee)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        claim = submit(trainee, training, level)
    assert not RiskSignal.objects.exists()  # nothing inside the claim's transaction
    for callback in callbacks:
        callback()
    assert RiskSignal.objects.filter(claim=claim, code=SignalCode.SHARED_PHONE).exists()


def test_a_failing_signal_computation_neither_blocks_nor_rolls_back_the_submission(
    today, trainee, certify, submit, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broken(**kwargs):
        raise RuntimeError("the risk database is on fire")

    monkeypatch.setattr(services, "signals_compute", broken)
    training, level = certify(trainee)
    with django_capture_on_commit_callbacks(execute=True):
        claim = submit(trainee, training, level)
    claim = SubsidyClaim.objects.get(pk=claim.pk)
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.events.count() == 1
    assert not RiskSignal.objects.exists()
    assert "nightly run will" in caplog.text
