"""The risk signals of SPEC.md ("Risk signals and spot checks"), one small function each.

Each is registered under its stable code and answers for a whole *set* of claims at once:
``rule(claims, settings, today) -> {claim_id: evidence}``. The same function serves one claim
just submitted (a one-row queryset) and the nightly run over every open claim, with a fixed
number of queries however many claims there are (never one query per claim). Evidence is
plain data (ids, masked numbers, counts) that the claim page shows and the JSON column keeps.

A signal never refuses or changes a claim: it is shown to the reviewer, who decides.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate

from core.identity import mask_account_number, mask_resident_id
from risk.models import RiskSettings, SignalCode
from subsidies.models import SubsidyClaim
from trainees import selectors as trainee_selectors
from trainees.models import Attendance, ClassSession, CompletionResult, Enrolment, Trainee

Evidence = dict
Rule = Callable[[QuerySet, RiskSettings, datetime.date], dict[int, Evidence]]
RULES: dict[str, Rule] = {}
# At most this many related people or classes are listed in one signal's evidence.
EVIDENCE_LIMIT = 20


def rule(code: str):
    def register(fn: Rule) -> Rule:
        RULES[code] = fn
        return fn

    return register


def _person(trainee_id: int, names: dict[int, tuple[str, str]]) -> dict:
    name, resident_id = names.get(trainee_id, ("", ""))
    return {"trainee": trainee_id, "name": name, "resident_id": mask_resident_id(resident_id)}


def _names(trainee_ids) -> dict[int, tuple[str, str]]:
    return {
        pk: (name, rid)
        for pk, name, rid in Trainee.objects.filter(pk__in=list(trainee_ids)).values_list(
            "pk", "name", "resident_id"
        )
    }


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 11 else phone


@rule(SignalCode.SHARED_PAYEE_ACCOUNT)
def shared_payee_account(
    claims: QuerySet, settings: RiskSettings, today: datetime.date
) -> dict[int, Evidence]:
    """The claim's payee account is also another trainee's (their own account, or the one
    another trainee's claim is paid to).

    Accounts are encrypted; they are compared by their blind indexes (one ``account`` domain
    for trainees' and claims' accounts), set-based as before."""
    accounts = claims.exclude(payee_account_index=None).order_by().values("payee_account_index")
    holders: dict[str, set[int]] = defaultdict(set)
    # The account's holders: trainees whose own account it is, and trainees whose claims are
    # paid to it (an account changed since). Model orderings are cleared for the UNION.
    pairs = (
        Trainee.objects.filter(bank_account_index__in=accounts)
        .order_by()
        .values_list("bank_account_index", "id")
        .union(
            SubsidyClaim.objects.filter(payee_account_index__in=accounts)
            .order_by()
            .values_list("payee_account_index", "trainee_id")
        )
    )
    for account, trainee_id in pairs:
        holders[account].add(trainee_id)
    shared = {account: ids for account, ids in holders.items() if len(ids) >= 2}
    if not shared:
        return {}
    names = _names({t for ids in shared.values() for t in ids})
    found = {}
    for claim_id, trainee_id, index, account in claims.filter(
        payee_account_index__in=list(shared)
    ).values_list("id", "trainee_id", "payee_account_index", "payee_account"):
        others = sorted(shared[index] - {trainee_id})
        if others:
            found[claim_id] = {
                "account": mask_account_number(account),
                "trainees": len(shared[index]),
                "others": [_person(t, names) for t in others[:EVIDENCE_LIMIT]],
            }
    return found


@rule(SignalCode.SHARED_PHONE)
def shared_phone(claims: QuerySet, settings: RiskSettings, today: datetime.date) -> dict[int, Evidence]:
    """The trainee's phone is on ``shared_phone_min_trainees`` (3) or more trainees (compared
    by the phones' blind indexes: the numbers are encrypted)."""
    phones = claims.exclude(trainee__phone_index=None).values("trainee__phone_index")
    counts = dict(
        Trainee.objects.filter(phone_index__in=phones)
        .values("phone_index")
        .annotate(n=Count("id"))
        .filter(n__gte=settings.shared_phone_min_trainees)
        .values_list("phone_index", "n")
    )
    if not counts:
        return {}
    holders: dict[str, list[int]] = defaultdict(list)
    for index, trainee_id in (
        Trainee.objects.filter(phone_index__in=list(counts)).values_list("phone_index", "id").order_by("id")
    ):
        holders[index].append(trainee_id)
    names = _names({t for ids in holders.values() for t in ids})
    found = {}
    for claim_id, trainee_id, index, phone in claims.filter(
        trainee__phone_index__in=list(counts)
    ).values_list("id", "trainee_id", "trainee__phone_index", "trainee__phone"):
        found[claim_id] = {
            "phone": mask_phone(phone),
            "trainees": counts[index],
            "others": [_person(t, names) for t in holders[index] if t != trainee_id][:EVIDENCE_LIMIT],
        }
    return found


@rule(SignalCode.OVERLAPPING_TRAINING)
def overlapping_training(
    claims: QuerySet, settings: RiskSettings, today: datetime.date
) -> dict[int, Evidence]:
    """The trainee's classes overlap in time (dates inclusive: one ending the day another
    starts overlaps by that day)."""
    other = Enrolment.objects.filter(
        trainee_id=OuterRef("trainee_id"),
        plan__start_date__lte=OuterRef("plan__end_date"),
        plan__end_date__gte=OuterRef("plan__start_date"),
    ).exclude(plan_id=OuterRef("plan_id"))
    rows = (
        Enrolment.objects.filter(trainee_id__in=claims.values("trainee_id"))
        .filter(Exists(other))
        .values_list(
            "trainee_id",
            "plan_id",
            "plan__title",
            "plan__institution__name",
            "plan__start_date",
            "plan__end_date",
        )
        .order_by("trainee_id", "plan__start_date")
    )
    classes: dict[int, list[dict]] = defaultdict(list)
    for trainee_id, plan_id, title, institution, start, end in rows:
        classes[trainee_id].append(
            {
                "plan": plan_id,
                "class": title,
                "institution": institution,
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        )
    if not classes:
        return {}
    return {
        claim_id: {"classes": classes[trainee_id][:EVIDENCE_LIMIT]}
        for claim_id, trainee_id in claims.filter(trainee_id__in=list(classes)).values_list(
            "id", "trainee_id"
        )
    }


@rule(SignalCode.IMPLAUSIBLE_HOURS)
def implausible_hours(claims: QuerySet, settings: RiskSettings, today: datetime.date) -> dict[int, Evidence]:
    """Hours recorded exceed ``max_hours_per_day`` (10) per calendar day of the class, or the
    completion test was passed with fewer hours than the plan requires."""
    found = {}
    limit = Decimal(settings.max_hours_per_day)
    rows = claims.values_list(
        "id",
        "training_certificate__enrolment__hours_online",
        "training_certificate__enrolment__hours_offline",
        "training_certificate__enrolment__completion_result",
        "training_certificate__plan__start_date",
        "training_certificate__plan__end_date",
        "training_certificate__plan__hours_online",
        "training_certificate__plan__hours_offline",
    )
    for claim_id, online, offline, result, start, end, plan_online, plan_offline in rows:
        if start is None or online is None:
            continue
        hours = online + offline
        days = (end - start).days + 1
        required = plan_online + plan_offline
        reasons = []
        if hours > limit * days:
            reasons.append("per_day")
        if result == CompletionResult.PASSED and hours < required:
            reasons.append("below_required")
        if reasons:
            found[claim_id] = {
                "reasons": reasons,
                "hours": str(hours),
                "days": days,
                "per_day": str((hours / days).quantize(Decimal("0.01"))),
                "limit_per_day": str(limit),
                "required": str(required),
            }
    return found


@rule(SignalCode.CERTIFICATE_BEFORE_TRAINING_END)
def certificate_before_training_end(
    claims: QuerySet, settings: RiskSettings, today: datetime.date
) -> dict[int, Evidence]:
    """The training certificate is dated before the class ended, or the level certificate
    before the training certificate."""
    found = {}
    rows = claims.values_list(
        "id",
        "training_certificate__plan__end_date",
        "training_certificate__issued_on",
        "level_certificate__issued_on",
    )
    for claim_id, class_end, training_issued, level_issued in rows:
        reasons = []
        if training_issued < class_end:
            reasons.append("training_before_class_end")
        if level_issued < training_issued:
            reasons.append("level_before_training")
        if reasons:
            found[claim_id] = {
                "reasons": reasons,
                "class_end": class_end.isoformat(),
                "training_certificate": training_issued.isoformat(),
                "level_certificate": level_issued.isoformat(),
            }
    return found


def pass_rate_exceeds(passed: int, tested: int, settings: RiskSettings) -> bool:
    """Above the threshold (strictly) with at least the minimum number tested. Exact: no floats."""
    if tested < settings.pass_rate_min_trainees or tested == 0:
        return False
    return Decimal(passed) * 100 > Decimal(settings.pass_rate_percent) * tested


def months_before(day: datetime.date, months: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@rule(SignalCode.INSTITUTION_PASS_RATE)
def institution_pass_rate(
    claims: QuerySet, settings: RiskSettings, today: datetime.date
) -> dict[int, Evidence]:
    """The institution's completion pass rate over the last ``pass_rate_months`` (12) months
    is above ``pass_rate_percent`` (98 %) with at least ``pass_rate_min_trainees`` (30) tested."""
    since = months_before(today, settings.pass_rate_months)
    institutions = claims.values("training_certificate__institution_id")
    rates = (
        Enrolment.objects.filter(
            plan__institution_id__in=institutions,
            completion_date__gt=since,
            completion_date__lte=today,
            completion_result__in=[CompletionResult.PASSED, CompletionResult.FAILED],
        )
        .values("plan__institution_id")
        .annotate(tested=Count("id"), passed=Count("id", filter=Q(completion_result=CompletionResult.PASSED)))
        .values_list("plan__institution_id", "tested", "passed")
    )
    flagged = {
        inst: {
            "passed": passed,
            "tested": tested,
            "rate": str((Decimal(passed) * 100 / tested).quantize(Decimal("0.1"))),
            "threshold": str(settings.pass_rate_percent),
            "from": (since + datetime.timedelta(days=1)).isoformat(),
            "to": today.isoformat(),
        }
        for inst, tested, passed in rates
        if pass_rate_exceeds(passed, tested, settings)
    }
    if not flagged:
        return {}
    return {
        claim_id: dict(flagged[inst], institution=inst)
        for claim_id, inst in claims.filter(
            training_certificate__institution_id__in=list(flagged)
        ).values_list("id", "training_certificate__institution_id")
    }


@rule(SignalCode.CLAIM_BURST)
def claim_burst(claims: QuerySet, settings: RiskSettings, today: datetime.date) -> dict[int, Evidence]:
    """More than ``claim_burst_max_per_day`` (20) claims by one institution's trainees were
    submitted on one day (Zhejiang time), counting every claim submitted that day."""
    zone = ZoneInfo(django_settings.TIME_ZONE)
    day = TruncDate("submitted_at", tzinfo=zone)
    mine = claims.annotate(day=day).values_list("id", "training_certificate__institution_id", "day")
    keys = defaultdict(list)
    for claim_id, inst, submitted_on in mine:
        keys[(inst, submitted_on)].append(claim_id)
    if not keys:
        return {}
    institutions = {inst for inst, _day in keys}
    days = {d for _inst, d in keys}
    counts = (
        SubsidyClaim.objects.filter(training_certificate__institution_id__in=institutions)
        .annotate(day=day)
        .filter(day__gte=min(days), day__lte=max(days))
        .values("training_certificate__institution_id", "day")
        .annotate(n=Count("id"))
        .filter(n__gt=settings.claim_burst_max_per_day)
        .values_list("training_certificate__institution_id", "day", "n")
    )
    found = {}
    for inst, submitted_on, n in counts:
        for claim_id in keys.get((inst, submitted_on), ()):
            found[claim_id] = {
                "institution": inst,
                "day": submitted_on.isoformat(),
                "claims": n,
                "limit": settings.claim_burst_max_per_day,
            }
    return found


def _minutes(value: datetime.time) -> int:
    return value.hour * 60 + value.minute


@rule(SignalCode.OVERLAPPING_ATTENDANCE)
def overlapping_attendance(
    claims: QuerySet, settings: RiskSettings, today: datetime.date
) -> dict[int, Evidence]:
    """严格培训学员考勤: the trainee attended two sessions (of one class or two) that overlap
    by at least ``attendance_overlap_min_minutes`` (1); back to back (one ends as the next
    starts) is no overlap. Corrected records count as corrected."""
    trainee_of_claim = dict(claims.values_list("id", "trainee_id"))
    if not trainee_of_claim:
        return {}
    pairs = trainee_selectors.overlapping_attendance(trainee_ids=claims.values("trainee_id"))
    if not pairs:
        return {}
    record_ids = {p["first"] for p in pairs} | {p["second"] for p in pairs}
    sessions = {
        pk: {
            "record": pk,
            "session": session_id,
            "class": title,
            "date": day.isoformat(),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "_start": _minutes(start),
            "_end": _minutes(end),
        }
        for pk, session_id, title, day, start, end in Attendance.objects.filter(
            pk__in=record_ids
        ).values_list(
            "id",
            "session_id",
            "session__plan__title",
            "session__date",
            "session__starts_at",
            "session__ends_at",
        )
    }
    by_trainee: dict[int, list[dict]] = defaultdict(list)
    for pair in pairs:
        first, second = sessions[pair["first"]], sessions[pair["second"]]
        overlap = min(first["_end"], second["_end"]) - max(first["_start"], second["_start"])
        if overlap < settings.attendance_overlap_min_minutes:
            continue
        public = [{k: v for k, v in s.items() if not k.startswith("_")} for s in (first, second)]
        by_trainee[pair["trainee_id"]].append({"sessions": public, "minutes": overlap})
    return {
        claim_id: {"pairs": by_trainee[trainee_id][:EVIDENCE_LIMIT], "count": len(by_trainee[trainee_id])}
        for claim_id, trainee_id in trainee_of_claim.items()
        if by_trainee.get(trainee_id)
    }


@rule(SignalCode.CLASS_SIGNED_IN_AT_ONCE)
def class_signed_in_at_once(
    claims: QuerySet, settings: RiskSettings, today: datetime.date
) -> dict[int, Evidence]:
    """加强对线上线下培训的全过程记录: a session of the claim's class in which every trainee
    signed in (at least ``sign_in_burst_min_trainees``, 5) was signed in by one operator
    within less than ``sign_in_burst_seconds`` (60) of the first, the claimant among them."""
    enrolment_of_claim = dict(
        claims.exclude(training_certificate__enrolment__isnull=True).values_list(
            "id", "training_certificate__enrolment_id"
        )
    )
    if not enrolment_of_claim:
        return {}
    # Subqueries, not lists of ids: the nightly run passes every open claim.
    enrolments = claims.values("training_certificate__enrolment_id")
    flagged = {
        row["session_id"]: row
        for row in trainee_selectors.sessions_signed_in_in_one_minute(
            min_trainees=settings.sign_in_burst_min_trainees,
            within_seconds=settings.sign_in_burst_seconds,
            plan_ids=Enrolment.objects.filter(pk__in=enrolments).values("plan_id"),
        )
    }
    if not flagged:
        return {}
    attended: dict[int, list[int]] = defaultdict(list)
    for enrolment_id, session_id in (
        Attendance.objects.current()
        .filter(session_id__in=list(flagged), enrolment_id__in=enrolments)
        .values_list("enrolment_id", "session_id")
        .order_by("session_id")
    ):
        attended[enrolment_id].append(session_id)
    if not attended:
        return {}
    details = {
        pk: (title, day, start)
        for pk, title, day, start in ClassSession.objects.filter(pk__in=list(flagged)).values_list(
            "id", "plan__title", "date", "starts_at"
        )
    }
    operators = dict(
        get_user_model()
        .objects.filter(pk__in={row["operator_id"] for row in flagged.values()})
        .values_list("id", "username")
    )
    zone = ZoneInfo(django_settings.TIME_ZONE)
    found = {}
    for claim_id, enrolment_id in enrolment_of_claim.items():
        sessions = []
        for session_id in attended.get(enrolment_id, ()):
            row = flagged[session_id]
            title, day, start = details[session_id]
            sessions.append(
                {
                    "session": session_id,
                    "class": title,
                    "date": day.isoformat(),
                    "start": start.strftime("%H:%M"),
                    "trainees": row["count"],
                    "operator": operators.get(row["operator_id"], ""),
                    "first": row["first"].astimezone(zone).strftime("%H:%M:%S"),
                    "last": row["last"].astimezone(zone).strftime("%H:%M:%S"),
                    "seconds": int((row["last"] - row["first"]).total_seconds()),
                }
            )
        if sessions:
            found[claim_id] = {"sessions": sessions[:EVIDENCE_LIMIT], "count": len(sessions)}
    return found
