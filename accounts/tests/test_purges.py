"""The hourly purges of beat: old login counters and idle API tokens."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.authentication import token_rotate, tokens_purge_idle
from accounts.models import ApiTokenUse, LoginAttemptCounter
from accounts.tasks import purge_idle_tokens, purge_login_counters
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_counters_whose_window_ended_a_day_ago_are_purged():
    now = timezone.now()
    LoginAttemptCounter.objects.create(
        key="account:old", attempts=3, window_ends=now - datetime.timedelta(days=2)
    )
    LoginAttemptCounter.objects.create(
        key="account:new", attempts=3, window_ends=now + datetime.timedelta(minutes=5)
    )
    purge_login_counters.apply()
    assert list(LoginAttemptCounter.objects.values_list("key", flat=True)) == ["account:new"]


def test_tokens_idle_past_the_limit_are_purged(settings):
    settings.API_TOKEN_IDLE_SECONDS = 3600
    fresh = token_rotate(user=UserFactory(username="fresh"))
    idle = token_rotate(user=UserFactory(username="idle"))
    ApiTokenUse.objects.filter(token=idle).update(last_used_at=timezone.now() - datetime.timedelta(hours=2))
    never_tracked = Token.objects.create(user=UserFactory(username="legacy"))
    Token.objects.filter(pk=never_tracked.pk).update(created=timezone.now() - datetime.timedelta(hours=2))
    purge_idle_tokens.apply()
    assert set(Token.objects.values_list("key", flat=True)) == {fresh.key}
    assert tokens_purge_idle() == 0
