"""API tokens that expire when idle.

DRF's tokens never expire. Here a token unused for ``API_TOKEN_IDLE_SECONDS`` (default 7
days) is deleted on its next use and the request answered 401 ``token_expired``; every use
refreshes it. The last use is written at most once a minute per token, not on every
request."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.models import ApiTokenUse, User
from core.prepared import Param, PreparedQuery, instance_from, model_columns

TOUCH_EVERY = datetime.timedelta(minutes=1)

# Every API request looks its token up: compiled once per process (core/prepared.py), the
# token, its user and its last use in one query.
_TOKEN = PreparedQuery(
    lambda: Token.objects.filter(key=Param("key", models.CharField())).values(
        *model_columns(Token), *model_columns(User, "user__"), "use__last_used_at"
    )
)


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = _("Your sign-in has expired after a long time unused; sign in again to get a new token.")
    default_code = "token_expired"


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        row = _TOKEN.first(key=key)
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token = instance_from(Token, row)
        token.user = instance_from(User, row, prefix="user__")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        last_used = row["use__last_used_at"] or token.created
        if now - last_used > datetime.timedelta(seconds=settings.API_TOKEN_IDLE_SECONDS):
            token.delete()
            raise TokenExpired()
        if now - last_used > TOUCH_EVERY:
            ApiTokenUse.objects.update_or_create(token=token, defaults={"last_used_at": now})
        return (token.user, token)


def token_rotate(*, user) -> Token:
    """A new token for the user, replacing any earlier one (a login rotates the token)."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    ApiTokenUse.objects.create(token=token, last_used_at=token.created)
    return token


def tokens_purge_idle() -> int:
    """Delete tokens idle past the limit (an hourly beat task), including those never used
    again, so that no view with its own authentication list can still accept them."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.API_TOKEN_IDLE_SECONDS)
    stale = Token.objects.filter(use__last_used_at__lt=cutoff) | Token.objects.filter(
        use__isnull=True, created__lt=cutoff
    )
    deleted, _ = stale.delete()
    return deleted
