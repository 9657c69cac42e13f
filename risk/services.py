"""Computing risk signals, recording the reviewer's disposition, drawing spot checks."""

from __future__ import annotations

import datetime
import logging
import math
import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError, NotPermitted
from institutions.models import PlanStatus, TrainingInstitution, TrainingPlan
from risk import rules
from risk.models import (
    Disposition,
    RiskSettings,
    RiskSignal,
    SignalCode,
    SpotCheck,
    SpotCheckItem,
    SpotCheckSubject,
    SpotOutcome,
)
from subsidies.models import ClaimStatus, SubsidyClaim
from subsidies.services import claim_log_step

logger = logging.getLogger(__name__)

# Claims whose signals the nightly run refreshes: those a reviewer may still act on.
OPEN_CLAIM_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.APPROVED)


@dataclass
class ComputeResult:
    claims: int = 0
    signals: int = 0  # signals found (current) among the claims computed
    failed_rules: list[str] = field(default_factory=list)


def signals_compute(*, claims: QuerySet, now: datetime.datetime | None = None) -> ComputeResult:
    """Run every registered signal over ``claims`` and store what was found.

    Set-based: each rule answers for the whole queryset in a few queries, and the results
    are written with one upsert. A rule that fails is logged and skipped (its earlier
    signals are left as they were); the others are still stored. A signal no longer found
    is kept with ``is_current`` false, never deleted: the reviewer's disposition stays.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    settings = RiskSettings.current()
    result = ComputeResult(claims=claims.count())
    found: dict[tuple[int, str], dict] = {}
    ok_codes = []
    for code, fn in rules.RULES.items():
        try:
            for claim_id, evidence in fn(claims, settings, today).items():
                found[(claim_id, code)] = evidence
        except Exception:  # a broken rule must not cost the others (nor the claim)
            logger.exception("risk rule %s failed", code)
            result.failed_rules.append(code)
            continue
        ok_codes.append(code)
    with transaction.atomic():
        RiskSignal.objects.bulk_create(
            [
                RiskSignal(
                    claim_id=claim_id,
                    code=code,
                    evidence=evidence,
                    is_current=True,
                    first_found_at=now,
                    last_found_at=now,
                )
                for (claim_id, code), evidence in found.items()
            ],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["claim", "code"],
            update_fields=["evidence", "is_current", "last_found_at"],
        )
        # Whatever a successful rule did not find this time is no longer current.
        RiskSignal.objects.filter(
            claim__in=claims.values("pk"), code__in=ok_codes, is_current=True, last_found_at__lt=now
        ).update(is_current=False)
    result.signals = len(found)
    return result


def signals_compute_for_claim(*, claim_id: int) -> ComputeResult:
    """After a submission (``subsidies.signals.claim_submitted``): the new claim's signals.

    Signals of other claims that this one tips over a threshold (the 21st claim of the day)
    are refreshed by the nightly run.
    """
    return signals_compute(claims=SubsidyClaim.objects.filter(pk=claim_id))


def signals_recompute_open() -> ComputeResult:
    """Nightly: every open claim (submitted or approved)."""
    return signals_compute(claims=SubsidyClaim.objects.filter(status__in=OPEN_CLAIM_STATUSES))


def signal_dispose(*, signal: RiskSignal, actor, disposition: str, note: str = "") -> RiskSignal:
    """The reviewer's verdict on a signal: 已核实无误 or 存在问题 (a note is required), who, when.

    Written into the claim's history too, so a later change of verdict leaves a trace.
    """
    claim = signal.claim
    if not (actor is not None and actor.is_bureau_reviewer and actor.bureau_id == claim.bureau_id):
        raise NotPermitted(
            "not_permitted", _("Only the bureau the claim was filed to may review its risk signals.")
        )
    note = (note or "").strip()
    if disposition not in (Disposition.VERIFIED, Disposition.PROBLEM):
        raise ApplicationError(
            "invalid_disposition",
            _("Choose “verified, no problem” or “problem found”."),
            {"disposition": disposition},
        )
    if disposition == Disposition.PROBLEM and not note:
        raise ApplicationError(
            "note_required",
            _("Describe the problem found in the note."),
            {"note": _("This field is required.")},
        )
    with transaction.atomic():
        signal = RiskSignal.objects.select_for_update().select_related("claim").get(pk=signal.pk)
        now = timezone.now()
        signal.disposition = disposition
        signal.disposition_note = note
        signal.disposed_by = actor
        signal.disposed_at = now
        signal.save(update_fields=["disposition", "disposition_note", "disposed_by", "disposed_at"])
        claim_log_step(
            claim=signal.claim,
            actor=actor,
            at=now,
            note=_("Risk signal “%(signal)s” reviewed: %(disposition)s. %(note)s")
            % {
                "signal": SignalCode(signal.code).label,
                "disposition": Disposition(disposition).label,
                "note": note,
            },
        )
    return signal


# -- spot checks ------------------------------------------------------------------------------


def sample_size(population: int, *, percent: Decimal, minimum: int) -> int:
    """x % of the population rounded up, at least ``minimum``, at most all of it."""
    return min(population, max(minimum, math.ceil(Decimal(population) * Decimal(percent) / 100)))


def draw_sample(population_ids: Iterable[int], *, percent: Decimal, minimum: int, seed: int) -> list[int]:
    """The seeded draw: the same ids and the same seed give the same sample, on any machine.

    The population is sorted first, so the order the database returns rows in does not
    matter; Python's ``random.Random(int)`` is specified to be reproducible across versions.
    """
    ids = sorted(set(population_ids))
    size = sample_size(len(ids), percent=percent, minimum=minimum)
    return sorted(random.Random(seed).sample(ids, size))


def spot_check_population(
    *, bureau_id: int | None, institution_id: int, subject: str, start: datetime.date, end: datetime.date
) -> list[int]:
    """The ids a spot check draws from. Claims: submitted in the period (Zhejiang dates),
    filed to the bureau (all bureaus for the province), not withdrawn. Plans: accepted plans
    of the institution filed with the bureau whose class ran during the period."""
    if subject == SpotCheckSubject.CLAIMS:
        zone = timezone.get_current_timezone()
        qs = SubsidyClaim.objects.filter(
            training_certificate__institution_id=institution_id,
            submitted_at__gte=datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
            submitted_at__lt=datetime.datetime.combine(
                end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
            ),
        ).exclude(status=ClaimStatus.WITHDRAWN)
        if bureau_id is not None:
            qs = qs.filter(bureau_id=bureau_id)
    else:
        qs = TrainingPlan.objects.filter(
            institution_id=institution_id,
            status=PlanStatus.ACCEPTED,
            start_date__lte=end,
            end_date__gte=start,
        )
        if bureau_id is not None:
            qs = qs.filter(filing_authority_id=bureau_id)
    return list(qs.values_list("pk", flat=True))


def _scope_bureau_id(actor) -> int | None:
    if actor is not None and actor.is_bureau_reviewer and actor.bureau_id:
        return actor.bureau_id
    if actor is not None and actor.is_provincial:
        return None
    raise NotPermitted("not_permitted", _("Only bureau reviewers and provincial staff may draw spot checks."))


def spot_check_draw(
    *,
    actor,
    institution: TrainingInstitution,
    subject: str,
    period_start: datetime.date,
    period_end: datetime.date,
    percent,
    minimum: int,
    seed: int | None = None,
) -> SpotCheck:
    """Draw and store a spot check: parameters, seed, population size, drawn ids, one item each."""
    bureau_id = _scope_bureau_id(actor)
    errors = {}
    if subject not in SpotCheckSubject.values:
        errors["subject"] = _("Choose claims or training plans.")
    try:
        percent = Decimal(str(percent))
        if not (0 <= percent <= 100):
            raise InvalidOperation
    except (InvalidOperation, TypeError, ValueError):
        errors["percent"] = _("Enter a share between 0 and 100.")
    if not isinstance(minimum, int) or minimum < 1:
        errors["minimum"] = _("Enter a whole number of at least 1.")
    if (
        not (isinstance(period_start, datetime.date) and isinstance(period_end, datetime.date))
        or period_end < period_start
    ):
        errors["period_end"] = _("The period must end on or after its start.")
    if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2**63):
        errors["seed"] = _("The seed is a whole number from 0 to 9223372036854775807.")
    if errors:
        raise ApplicationError(
            "invalid_spot_check", _("The spot check's parameters are incomplete or wrong."), errors
        )
    if (
        bureau_id is not None
        and subject == SpotCheckSubject.PLANS
        and institution.city_id != actor.bureau.city_id
    ):
        raise NotPermitted("not_permitted", _("You may only spot-check institutions of your city."))
    population = spot_check_population(
        bureau_id=bureau_id,
        institution_id=institution.pk,
        subject=subject,
        start=period_start,
        end=period_end,
    )
    if not population:
        raise ApplicationError(
            "empty_population",
            _("The institution has no %(subject)s in this period: nothing to sample. Choose another period.")
            % {"subject": SpotCheckSubject(subject).label},
        )
    if seed is None:
        seed = secrets.randbelow(2**63)
    drawn = draw_sample(population, percent=percent, minimum=minimum, seed=seed)
    with transaction.atomic():
        check = SpotCheck(
            bureau=actor.bureau,
            institution=institution,
            subject=subject,
            period_start=period_start,
            period_end=period_end,
            percent=percent,
            minimum=minimum,
            seed=seed,
            population_count=len(population),
            drawn_ids=drawn,
            drawn_at=timezone.now(),
            drawn_by=actor,
        )
        check.full_clean(exclude=["bureau", "institution", "drawn_by"])
        check.save()
        key = "claim_id" if subject == SpotCheckSubject.CLAIMS else "plan_id"
        SpotCheckItem.objects.bulk_create(
            [SpotCheckItem(spot_check=check, position=i, **{key: pk}) for i, pk in enumerate(drawn, start=1)]
        )
    return check


def spot_check_redraw(spot_check: SpotCheck) -> list[int]:
    """Draw again from the stored seed and parameters over today's data (an auditor's check
    that the sample was not hand-picked): equal to ``drawn_ids`` while the data is unchanged."""
    bureau_id = None if spot_check.bureau.kind == spot_check.bureau.Kind.PROVINCE else spot_check.bureau_id
    population = spot_check_population(
        bureau_id=bureau_id,
        institution_id=spot_check.institution_id,
        subject=spot_check.subject,
        start=spot_check.period_start,
        end=spot_check.period_end,
    )
    return draw_sample(
        population, percent=spot_check.percent, minimum=spot_check.minimum, seed=spot_check.seed
    )


def spot_check_item_record(*, item: SpotCheckItem, actor, outcome: str, note: str = "") -> SpotCheckItem:
    """合格 / 不合格 (a note is required for 不合格), who and when."""
    check = item.spot_check
    same_bureau = actor is not None and actor.bureau_id == check.bureau_id
    if not (same_bureau and (actor.is_bureau_reviewer or actor.is_provincial)):
        raise NotPermitted(
            "not_permitted", _("Only the bureau that drew the spot check may record its outcomes.")
        )
    note = (note or "").strip()
    if outcome not in (SpotOutcome.PASSED, SpotOutcome.FAILED):
        raise ApplicationError(
            "invalid_outcome", _("Choose passed (合格) or failed (不合格)."), {"outcome": outcome}
        )
    if outcome == SpotOutcome.FAILED and not note:
        raise ApplicationError(
            "note_required", _("Say what failed in the note."), {"note": _("This field is required.")}
        )
    with transaction.atomic():
        item = SpotCheckItem.objects.select_for_update().get(pk=item.pk)
        item.outcome = outcome
        item.note = note
        item.checked_by = actor
        item.checked_at = timezone.now()
        item.save(update_fields=["outcome", "note", "checked_by", "checked_at"])
    return item
