"""With Redis down (cache and broker unreachable), a claim still walks from the plan to the
payment through the API, and logins work (accounts/tests/test_login_throttle.py)."""

import pytest
from celery import current_app
from django.core.cache import cache
from django.test import override_settings

from tests.api.test_claim_walk import test_a_claim_walks_from_the_plan_to_payment as claim_walk

pytestmark = pytest.mark.django_db

REDIS_DOWN = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


@pytest.fixture
def broker_down():
    saved = current_app.conf.broker_url
    current_app.conf.broker_url = "redis://127.0.0.1:1/0"
    yield
    current_app.conf.broker_url = saved


@override_settings(CACHES=REDIS_DOWN)
def test_a_claim_walks_to_payment_while_redis_is_down(
    broker_down,
    api_client_of,
    institution_staff,
    hangzhou_reviewer,
    evaluation_staff,
    evaluator,
    trainee,
    trainee_user,
):
    with pytest.raises(Exception):  # noqa: B017 - any connection error: the cache really is down
        cache.set("probe", 1)
    claim_walk(
        api_client_of,
        institution_staff,
        hangzhou_reviewer,
        evaluation_staff,
        evaluator,
        trainee,
        trainee_user,
    )
