"""Text a person types (names, schools, banks), made safe in one place for every door: the
admin form, the API and the Excel imports all reach the model's ``full_clean``.

- Invisible format characters (Unicode category Cf: zero-width spaces and joiners, the
  right-to-left and left-to-right marks and overrides, the byte-order mark) are *stripped*:
  they arrive by copy and paste, show nothing, and would let "王小明" and "王\u200b小明" be two
  people, or reverse how a name reads in a report.
- Control characters (Cc: NUL, line breaks, escape, DEL) are *refused*: in a name they
  are never meant, and they break Excel files and log lines.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _


def strip_invisible(value: str) -> str:
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cf").strip()


def validate_no_control_characters(value: str) -> None:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValidationError(
            _("Remove the control characters (such as line breaks or tabs) from this text."),
            code="control_characters",
        )


# A phone number is digits, with spaces or hyphens between them: nothing else may lead it
# (=, +, @ or - would be read as a formula when the number is exported to Excel).
PHONE_PATTERN = r"^[0-9][0-9 -]{3,18}[0-9]$"
validate_phone = RegexValidator(
    re.compile(PHONE_PATTERN),
    _(
        "Enter the phone number as digits only (spaces or hyphens between them are allowed), e.g. 13800138000."
    ),
    code="invalid_phone",
)
