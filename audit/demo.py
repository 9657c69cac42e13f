"""Demo entries of the access log (访问审计), so provincial staff find something to search.

Called once at the end of the demo loader. The entries go through the same service as real
accesses, so they are chained and their addresses encrypted like any other.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from audit.models import AccessKind, Channel
from audit.services import TRAINEE_UNMASKED_FIELDS, access_log_record

# Documentation address ranges (RFC 5737): never a real client.
DEMO_ADDRESSES = {"province": "192.0.2.10", "hz_reviewer": "192.0.2.21", "nb_reviewer": "198.51.100.22"}


def load_demo_audit() -> int:
    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=[*DEMO_ADDRESSES, "trainee"])
    }
    written = 0
    for username, address in DEMO_ADDRESSES.items():
        if username in users:
            access_log_record(
                kind=AccessKind.LOGIN,
                actor=users[username],
                obj=users[username],
                address=address,
                channel=Channel.ADMIN,
            )
            written += 1
    access_log_record(
        kind=AccessKind.LOGIN_FAILED, username="hz_reviewer", address="203.0.113.99", channel=Channel.ADMIN
    )
    written += 1
    trainee = users.get("trainee")
    if trainee is not None and hasattr(trainee, "trainee"):
        access_log_record(
            kind=AccessKind.VIEW_UNMASKED,
            actor=trainee,
            obj=trainee.trainee,
            what=str(TRAINEE_UNMASKED_FIELDS),
            address="198.51.100.40",
            channel=Channel.API,
        )
        written += 1
    if "hz_reviewer" in users:
        access_log_record(
            kind=AccessKind.EXPORT,
            actor=users["hz_reviewer"],
            obj="trainees.trainee",
            what=_("Continuing-education hours %(year)s, with full ID numbers") % {"year": 2025},
            row_count=12,
            address=DEMO_ADDRESSES["hz_reviewer"],
            channel=Channel.ADMIN,
        )
        written += 1
    return written
