"""Writes of the trainee service: activation, password reset by a one-time code, consent.

SPEC "Activation": resident ID + name + the phone on record + a code sent to that phone,
then a password. Codes expire in 10 minutes; 5 wrong codes, or one wrong ID/name/phone
combination, lock activation for that ID for 15 minutes; no answer says which of ID, name
or phone was wrong. Password reset uses the same code, for an account that exists.
"""

from __future__ import annotations

import datetime
import secrets

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.services import user_create
from core.errors import ApplicationError, Conflict
from core.identity import normalize_phone, normalize_resident_id
from core.pii_fields import blind_lookup
from core.sms import send_sms
from portal.models import PRIVACY_NOTICE_VERSION, ActivationGuard, CodePurpose, OneTimeCode, PrivacyConsent
from trainees.models import Trainee

CODE_LIFETIME = datetime.timedelta(minutes=10)
LOCK_DURATION = datetime.timedelta(minutes=15)
MAX_CODE_FAILURES = 5
# A new code at most once a minute per ID: each SMS costs money and annoys the phone's owner.
RESEND_INTERVAL = datetime.timedelta(seconds=60)


class ActivationLocked(ApplicationError):
    status_code = 429

    def __init__(self, until: datetime.datetime):
        minutes = max(1, int((until - timezone.now()).total_seconds() + 59) // 60)
        super().__init__(
            "activation_locked",
            _(
                "Activation for this resident ID number is locked for safety; try again in %(minutes)s "
                "minutes. If you are unsure of the details on record, ask your training institution."
            )
            % {"minutes": minutes},
            {"locked_until": until.isoformat()},
        )


def _locked_guard(resident_id: str) -> ActivationGuard:
    """The ID's guard row, locked: failures of one ID are counted one request at a time."""
    lookup = blind_lookup(ActivationGuard, "resident_id", resident_id)
    ActivationGuard.objects.get_or_create(**lookup, defaults={"resident_id": resident_id})
    return ActivationGuard.objects.select_for_update().get(**lookup)


def _refuse_if_locked(guard: ActivationGuard, now: datetime.datetime) -> None:
    if guard.locked_until is not None and guard.locked_until > now:
        raise ActivationLocked(guard.locked_until)


def code_request(*, resident_id: str, name: str, phone: str, purpose: str) -> OneTimeCode:
    """Step 1: check ID + name + phone against the record and send a code to that phone.

    A wrong combination locks the ID for 15 minutes and is refused with ``identity_mismatch``,
    one message for any wrong field. Activation of an account that exists is refused with
    ``already_activated``; a reset of one that does not, with ``not_activated`` (the caller
    has proved ID, name and phone by then, so telling them is safe).
    """
    resident_id = normalize_resident_id(resident_id or "")
    name = " ".join((name or "").split())
    phone = normalize_phone(phone)
    if not resident_id or not name or not phone:
        raise ApplicationError(
            "identity_incomplete", _("Enter your resident ID number, name and phone number.")
        )
    now = timezone.now()
    mismatch = False
    with transaction.atomic():
        guard = _locked_guard(resident_id)
        _refuse_if_locked(guard, now)
        trainee = Trainee.objects.filter(**blind_lookup(Trainee, "resident_id", resident_id)).first()
        if trainee is None or trainee.name != name or normalize_phone(trainee.phone) != phone:
            # Keep the lock (committed), refuse after the transaction.
            guard.locked_until = now + LOCK_DURATION
            guard.code_failures = 0
            guard.save(update_fields=["locked_until", "code_failures"])
            mismatch = True
        else:
            if purpose == CodePurpose.ACTIVATE and trainee.user_id is not None:
                raise Conflict(
                    "already_activated",
                    _("Your account is already active: log in, or reset your password if you forgot it."),
                )
            if purpose == CodePurpose.RESET and trainee.user_id is None:
                raise Conflict("not_activated", _("You have no account yet: activate it first."))
            last = (
                OneTimeCode.objects.filter(
                    **blind_lookup(OneTimeCode, "resident_id", resident_id), purpose=purpose
                )
                .order_by("-created_at")
                .first()
            )
            if last is not None and last.created_at > now - RESEND_INTERVAL:
                raise ApplicationError(
                    "code_too_soon",
                    _("A code was sent less than a minute ago; wait a moment before asking again."),
                )
            code = f"{secrets.randbelow(10**6):06d}"
            record = OneTimeCode.objects.create(
                resident_id=resident_id,
                purpose=purpose,
                code_hash=make_password(code),
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
            text = _(
                "[Digital Technology Engineers] Your code for %(purpose)s is %(code)s, valid for 10 minutes. "
                "Never give it to anyone."
            ) % {"purpose": CodePurpose(purpose).label, "code": code}
            transaction.on_commit(lambda: send_sms(phone=trainee.phone, text=text))
    if mismatch:
        raise ApplicationError(
            "identity_mismatch",
            _(
                "The resident ID number, name and phone number do not match our records together. For your "
                "safety, activation for this ID is locked for 15 minutes. Check what you entered, or ask "
                "your training institution which phone number it registered."
            ),
        )
    return record


def _check_code(*, resident_id: str, purpose: str, code: str) -> Trainee:
    """Step 2, the code: consumed when right; a wrong one counts toward the lock."""
    now = timezone.now()
    failure: ApplicationError | None = None
    with transaction.atomic():
        guard = _locked_guard(resident_id)
        _refuse_if_locked(guard, now)
        record = (
            OneTimeCode.objects.select_for_update()
            .filter(
                **blind_lookup(OneTimeCode, "resident_id", resident_id), purpose=purpose, used_at__isnull=True
            )
            .order_by("-created_at")
            .first()
        )
        if record is None or record.expires_at <= now:
            raise ApplicationError(
                "code_expired", _("The code has expired or was already used; ask for a new code.")
            )
        if not check_password((code or "").strip(), record.code_hash):
            guard.code_failures += 1
            if guard.code_failures >= MAX_CODE_FAILURES:
                guard.locked_until = now + LOCK_DURATION
                guard.code_failures = 0
                failure = ActivationLocked(guard.locked_until)
            else:
                failure = ApplicationError(
                    "wrong_code",
                    _("The code is not correct; %(left)s tries left before a 15-minute lock.")
                    % {"left": MAX_CODE_FAILURES - guard.code_failures},
                )
            guard.save(update_fields=["code_failures", "locked_until"])
        else:
            record.used_at = now
            record.save(update_fields=["used_at"])
            guard.code_failures = 0
            guard.save(update_fields=["code_failures"])
    if failure is not None:
        raise failure
    return Trainee.objects.get(**blind_lookup(Trainee, "resident_id", resident_id))


def _validate_new_password(password: str, user: User | None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(
            "invalid_password", _("Choose another password."), {"password": " ".join(exc.messages)}
        ) from exc


def account_activate(*, resident_id: str, code: str, password: str, consent: bool) -> User:
    """Step 2 of activation: the code, the password and consent to the privacy notice.

    Creates the trainee's login (role trainee: never staff, so never the admin) and records
    the consent with the notice's version, in one transaction.
    """
    resident_id = normalize_resident_id(resident_id or "")
    if not consent:
        raise ApplicationError(
            "consent_required",
            _("Read the personal-information notice and agree to it to open an account."),
            {"consent": _("Agree to the notice to continue.")},
        )
    _validate_new_password(password, None)
    trainee = _check_code(resident_id=resident_id, purpose=CodePurpose.ACTIVATE, code=code)
    with transaction.atomic():
        # The trainee row lock: two activations finishing at once create one login.
        trainee = Trainee.objects.select_for_update().get(pk=trainee.pk)
        if trainee.user_id is not None:
            raise Conflict("already_activated", _("Your account is already active: log in."))
        # The username is never typed (trainees log in by ID or phone); it only has to be unique.
        username = f"trainee-{trainee.pk}"
        if User.objects.filter(username=username).exists():
            username = f"{username}-{secrets.token_hex(3)}"
        user = user_create(username=username, password=password, role=Role.TRAINEE, first_name=trainee.name)
        trainee.user = user
        trainee.save(update_fields=["user"])
        PrivacyConsent.objects.create(user=user, notice_version=PRIVACY_NOTICE_VERSION)
    return user


def password_reset(*, resident_id: str, code: str, password: str) -> User:
    """Set a new password with a code sent to the phone on record."""
    resident_id = normalize_resident_id(resident_id or "")
    trainee = (
        Trainee.objects.select_related("user")
        .filter(**blind_lookup(Trainee, "resident_id", resident_id))
        .first()
    )
    _validate_new_password(password, trainee.user if trainee is not None else None)
    trainee = _check_code(resident_id=resident_id, purpose=CodePurpose.RESET, code=code)
    user = trainee.user
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


def login_user_for(identifier: str) -> User | None:
    """The trainee login a resident ID number or a phone number names, if exactly one does.

    A phone shared by several trainees names nobody: they log in with the ID number.
    """
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    resident_id = normalize_resident_id(identifier)
    trainees = Trainee.objects.filter(user__isnull=False, user__role=Role.TRAINEE)
    if len(resident_id) == 18:
        trainee = (
            trainees.select_related("user")
            .filter(**blind_lookup(Trainee, "resident_id", resident_id))
            .first()
        )
    else:
        phone = normalize_phone(identifier)
        matches = (
            list(trainees.select_related("user").filter(**blind_lookup(Trainee, "phone", phone))[:2])
            if phone
            else []
        )
        trainee = matches[0] if len(matches) == 1 else None
    return trainee.user if trainee is not None else None
