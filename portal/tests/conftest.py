"""Fixtures of the trainee-service tests: the SMS outbox, and a trainee with certificates."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from core import sms
from reference.tests.factories import OccupationFactory
from tests.browser.builders import certified


@pytest.fixture(autouse=True)
def outbox(settings):
    """Text messages land in ``core.sms.outbox``; a private cache for the counters."""
    settings.SMS_BACKEND = "core.sms.LocmemBackend"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal-tests"}
    }
    cache.clear()
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()
    cache.clear()


@pytest.fixture
def certificates(trainee, institution, evaluator, hangzhou_bureau):
    """王小明's training and level certificates (issued 20 days ago), claimable at Hangzhou."""
    training, level = certified(
        trainee, institution=institution, evaluator=evaluator, occupation=OccupationFactory()
    )
    return training, level


@pytest.fixture
def trainee_client(client, trainee):
    client.force_login(trainee.user)
    return client
