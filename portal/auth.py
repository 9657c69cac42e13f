"""Log in to the trainee service with a resident ID number or a phone number and a password."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.models import User
from portal.services import login_user_for


class TraineeBackend(ModelBackend):
    """Authenticates trainees only, by ``identifier`` (ID or phone). Staff are never matched:
    they have no trainee record, and they log in through the admin's own form."""

    def authenticate(self, request, identifier=None, password=None, **kwargs):
        if identifier is None or password is None:
            return None
        user = login_user_for(identifier)
        if user is None:
            # Spend the time of a hash anyway, so an unknown ID is not quicker to tell.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user) and not user.is_staff:
            return user
        return None
