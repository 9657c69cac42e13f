from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.backends import login_throttled_for


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin login, saying so when the shared login throttle refused the attempt
    (rather than "wrong password", which would send the user guessing again)."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": _(
            "Too many failed sign-in attempts for this account or from this address. "
            "Wait %(minutes)d minutes and try again, or ask an administrator to reset your password."
        ),
    }

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            wait = login_throttled_for(self.request) if self.request is not None else None
            if wait is not None:
                raise ValidationError(
                    self.error_messages["throttled"],
                    code="throttled",
                    params={"minutes": max(1, (wait + 59) // 60)},
                ) from None
            raise
