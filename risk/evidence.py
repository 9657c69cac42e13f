"""A signal's evidence in words, for the reviewer (the data itself stays in the JSON column)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from risk.models import SignalCode

REASONS = {
    "per_day": lambda e: (
        _("%(hours)s hours over %(days)s days of the class: %(per_day)s a day, more than %(limit)s")
        % {"hours": e["hours"], "days": e["days"], "per_day": e["per_day"], "limit": e["limit_per_day"]}
    ),
    "below_required": lambda e: (
        _("passed the completion test with %(hours)s hours; the plan requires %(required)s")
        % {"hours": e["hours"], "required": e["required"]}
    ),
    "training_before_class_end": lambda e: (
        _("training certificate dated %(cert)s, before the class ended on %(end)s")
        % {"cert": e["training_certificate"], "end": e["class_end"]}
    ),
    "level_before_training": lambda e: (
        _("level certificate dated %(level)s, before the training certificate (%(cert)s)")
        % {"level": e["level_certificate"], "cert": e["training_certificate"]}
    ),
}


def _people(evidence) -> str:
    return "、".join(f"{p['name']}（{p['resident_id']}）" for p in evidence.get("others", []))


def describe(code: str, evidence: dict):
    """HTML-safe text for the claim page."""
    try:
        if code == SignalCode.SHARED_PAYEE_ACCOUNT:
            return _("Account %(account)s is also used by: %(people)s") % {
                "account": evidence["account"],
                "people": _people(evidence),
            }
        if code == SignalCode.SHARED_PHONE:
            return _("Phone %(phone)s is on %(n)s trainees: %(people)s") % {
                "phone": evidence["phone"],
                "n": evidence["trainees"],
                "people": _people(evidence),
            }
        if code == SignalCode.OVERLAPPING_TRAINING:
            return format_html(
                "{}<ul>{}</ul>",
                _("Classes overlapping in time:"),
                format_html_join(
                    "",
                    "<li>{} · {} · {}–{}</li>",
                    ((c["institution"], c["class"], c["start"], c["end"]) for c in evidence["classes"]),
                ),
            )
        if code in (SignalCode.IMPLAUSIBLE_HOURS, SignalCode.CERTIFICATE_BEFORE_TRAINING_END):
            return "；".join(REASONS[r](evidence) for r in evidence["reasons"])
        if code == SignalCode.INSTITUTION_PASS_RATE:
            return (
                _(
                    "%(passed)s of %(tested)s trainees passed the completion test between %(from)s and %(to)s "
                    "(%(rate)s%%, above %(threshold)s%%)"
                )
                % evidence
            )
        if code == SignalCode.CLAIM_BURST:
            return (
                _(
                    "%(claims)s claims from this institution's trainees were submitted on %(day)s (more than %(limit)s)"
                )
                % evidence
            )
        if code == SignalCode.OVERLAPPING_ATTENDANCE:
            return format_html(
                "{}<ul>{}</ul>",
                _("Sessions attended at the same time:"),
                format_html_join(
                    "",
                    "<li>{}</li>",
                    (
                        (
                            _("%(date)s %(first)s and %(second)s, overlapping %(minutes)s minutes")
                            % {
                                "date": p["sessions"][0]["date"],
                                "first": f"{p['sessions'][0]['class']} {p['sessions'][0]['start']}–{p['sessions'][0]['end']}",
                                "second": f"{p['sessions'][1]['class']} {p['sessions'][1]['start']}–{p['sessions'][1]['end']}",
                                "minutes": p["minutes"],
                            },
                        )
                        for p in evidence["pairs"]
                    ),
                ),
            )
        if code == SignalCode.CLASS_SIGNED_IN_AT_ONCE:
            return format_html(
                "{}<ul>{}</ul>",
                _("Sessions whose whole class was signed in at once:"),
                format_html_join(
                    "",
                    "<li>{}</li>",
                    (
                        (
                            _(
                                "%(class)s, %(date)s %(start)s: %(trainees)s trainees signed in by %(operator)s "
                                "between %(first)s and %(last)s"
                            )
                            % s,
                        )
                        for s in evidence["sessions"]
                    ),
                ),
            )
    except (KeyError, TypeError, ValueError, IndexError):
        pass
    return str(evidence)
