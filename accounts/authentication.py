"""API tokens that expire when idle.

DRF's tokens never expire. Here a token unused for ``API_TOKEN_IDLE_SECONDS`` (default 7
days) is deleted on its next use and the request answered 401 ``token_expired``; every use
refreshes it. The last use is written at most once a minute per token, not on every
request."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.models import ApiTokenUse

TOUCH_EVERY = datetime.timedelta(minutes=1)


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = _("Your sign-in has expired after a long time unused; sign in again to get a new token.")
    default_code = "token_expired"


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        try:
            token = Token.objects.select_related("user", "use").get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        now = timezone.now()
        use = getattr(token, "use", None)
        last_used = use.last_used_at if use is not None else token.created
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
