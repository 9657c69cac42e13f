"""Identity numbers: resident ID (GB 11643) and unified social credit code (GB 32100).

Checks are delegated to python-stdnum; this module only adapts them to Django validators
with Chinese messages, and masks ID numbers for display.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from stdnum.exceptions import (
    ValidationError as StdnumError,
)


def normalize_resident_id(value: str) -> str:
    return ric.compact(value or "").upper()


def validate_resident_id(value: str) -> None:
    """Validate an 18-character resident ID number.

    ``stdnum.cn.ric`` checks the birth date and the MOD 11-2 check character. Its own
    birth-place lookup is not used: it would reject retired district codes (330103 下城区,
    330104 江干区, the former 3321xx-3328xx prefectures) that people still carry.
    """
    number = normalize_resident_id(value)
    if len(number) != 18:
        raise ValidationError(_("A resident ID number has 18 characters."), code="resident_id_length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(_("The resident ID number is malformed."), code="resident_id_format")
    try:
        ric.get_birth_date(number)
    except (InvalidComponent, InvalidFormat, ValueError):
        raise ValidationError(
            _("The birth date in the resident ID number is not a real date."), code="resident_id_birth_date"
        ) from None
    if ric.calc_check_digit(number) != number[17]:
        raise ValidationError(
            _("The check character of the resident ID number is wrong."), code="resident_id_checksum"
        )


def validate_credit_code(value: str) -> None:
    """Validate an 18-character unified social credit code (GB 32100-2015)."""
    try:
        uscc.validate(value or "")
    except InvalidLength:
        raise ValidationError(
            _("A unified social credit code has 18 characters."), code="credit_code_length"
        ) from None
    except InvalidChecksum:
        raise ValidationError(
            _("The check character of the unified social credit code is wrong."), code="credit_code_checksum"
        ) from None
    except (InvalidFormat, InvalidComponent, StdnumError):
        raise ValidationError(
            _("The unified social credit code is malformed."), code="credit_code_format"
        ) from None


def mask_resident_id(value: str) -> str:
    """330102199001011234 -> 330102********1234."""
    if not value or len(value) < 10:
        return value
    return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def normalize_account_number(value: str) -> str:
    """Bank and social-security-card account numbers are digits; people type spaces and dashes."""
    return "".join(ch for ch in (value or "") if not ch.isspace() and ch != "-")


def normalize_phone(value: str) -> str:
    """Phone numbers compare by their digits: people type spaces, dashes and +86."""
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return digits[-11:] if len(digits) > 11 and digits.startswith("86") else digits


def validate_account_number(value: str) -> None:
    """A bank or social-security-card financial account: 10 to 30 digits."""
    value = normalize_account_number(value)
    if not value.isdigit() or not 10 <= len(value) <= 30:
        raise ValidationError(
            _("An account number is 10 to 30 digits; check the number on the card or passbook."),
            code="account_number_format",
        )


def mask_account_number(value: str) -> str:
    """6222021234567890123 -> 6222***********0123."""
    if not value or len(value) < 8:
        return value
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def generate_resident_id(*, area: str = "330102", birth: str = "19900101", sequence: int = 1) -> str:
    """A valid resident ID number for demo data and tests (not a real person's)."""
    body = f"{area}{birth}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a check slot


def generate_credit_code(*, area: str = "330100", sequence: int = 1) -> str:
    """A valid unified social credit code for demo data and tests (not a real organisation's).

    Layout (GB 32100): 5 (social organisation) + 2 (kind), 6-digit area code, a 9-character
    organisation code whose own last character is a GB 11714 check digit, then the MOD 31
    check character.
    """
    org_body = f"{sequence % 10**8:08d}"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    org_check = (11 - sum(int(c) * w for c, w in zip(org_body, weights, strict=True)) % 11) % 11
    org = org_body + ("X" if org_check == 10 else str(org_check))
    body = f"52{area}{org}"
    return body + uscc.calc_check_digit(body)
