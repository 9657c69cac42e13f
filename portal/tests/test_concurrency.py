"""The trainee service's invariants under real concurrency, on PostgreSQL."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from core import sms
from core.identity import generate_resident_id
from core.pii_fields import blind_lookup
from institutions.tests.factories import TrainingPlanFactory
from portal.models import ActivationGuard, CodePurpose, PrivacyConsent
from portal.services import account_activate, code_request
from subsidies.tests.test_claim_concurrency import run_at_once
from trainees.models import Application, ApplicationStatus, Enrolment
from trainees.services import application_accept, application_decline, application_submit
from trainees.tests.factories import TraineeFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

THREADS = 6


@pytest.fixture
def open_class(institution):
    start = timezone.localdate() + datetime.timedelta(days=10)
    return TrainingPlanFactory(
        institution=institution, start_date=start, end_date=start + datetime.timedelta(days=30)
    )


def _fields(hangzhou):
    return {
        "resident_id": generate_resident_id(area="330106", birth="19900202", sequence=321),
        "name": "并发",
        "phone": "13900000009",
        "category": "professional",
        "household_city": hangzhou,
    }


def test_the_same_person_applying_in_several_tabs_at_once_makes_one_application(open_class, hangzhou):
    outcomes = run_at_once([lambda: application_submit(plan=open_class, **_fields(hangzhou))] * THREADS)
    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "ok" for o in outcomes) == 1
    assert {o[0] for o in outcomes if o[0] != "ok"} == {"already_applied"}
    assert Application.objects.count() == 1


def test_two_clerks_answering_one_application_at_once_leave_one_answer(
    open_class, hangzhou, institution_staff
):
    application = application_submit(plan=open_class, **_fields(hangzhou))
    calls = [lambda: application_accept(application=application, actor=institution_staff)] * (
        THREADS // 2
    ) + [lambda: application_decline(application=application, actor=institution_staff, reason="名额已满")] * (
        THREADS // 2
    )
    outcomes = run_at_once(calls)
    assert [o for o in outcomes if o[0] == "error"] == []
    assert sum(o[0] == "ok" for o in outcomes) == 1
    assert {o[0] for o in outcomes if o[0] != "ok"} == {"application_decided"}
    application.refresh_from_db()
    assert Enrolment.objects.filter(plan=open_class).count() == (
        1 if application.status == ApplicationStatus.ACCEPTED else 0
    )


def test_concurrent_wrong_codes_still_lock_after_five(hangzhou, settings):
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    sms.outbox.clear()
    trainee = TraineeFactory(household_city=hangzhou, phone="13900000008")
    code_request(
        resident_id=trainee.resident_id, name=trainee.name, phone=trainee.phone, purpose=CodePurpose.ACTIVATE
    )
    code = re.search(r"\d{6}", sms.outbox[-1].text).group(0)
    wrong = "000000" if code != "000000" else "111111"
    calls = [
        lambda: account_activate(
            resident_id=trainee.resident_id, code=wrong, password="zhejiang-2030-ok", consent=True
        )
    ] * 8
    outcomes = run_at_once(calls)
    assert [o for o in outcomes if o[0] == "error"] == []
    codes = [o[0] for o in outcomes]
    # The guard row serialises the count: exactly 4 "wrong code", then the lock.
    assert codes.count("wrong_code") == 4
    assert codes.count("activation_locked") == 4
    assert (
        ActivationGuard.objects.get(
            **blind_lookup(ActivationGuard, "resident_id", trainee.resident_id)
        ).locked_until
        > timezone.now()
    )
    assert not PrivacyConsent.objects.exists()
    sms.outbox.clear()
