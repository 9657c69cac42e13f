"""Writes of the subsidies app: submitting and deciding claims, importing other subsidies.

Every function here is keyword-only and never takes ``request``: the admin, the API and the
management commands all call the same code.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from accounts.models import MessageKind
from accounts.services import message_send
from certificates.models import LevelCertificate, TrainingCertificate
from core.errors import ApplicationError, NotPermitted
from core.identity import normalize_resident_id, validate_resident_id
from reference.models import Bureau, City
from subsidies import rules
from subsidies.models import (
    ClaimEvent,
    ClaimStatus,
    ExternalSubsidyRecord,
    PolicySettings,
    SubsidyClaim,
)
from subsidies.signals import claim_status_changed, claim_submitted
from subsidies.workflow import Mover, allowed_targets, is_mover, mover_for
from trainees.models import Trainee


class ClaimIneligible(ApplicationError):
    """A claim (or its approval) refused by the rules; ``detail["rules"]`` names every failure."""

    status_code = 400

    def __init__(self, results: list[rules.RuleResult]):
        failed = rules.failures(results)
        # The message is read by people (the admin, the trainee service): it names each failed
        # rule by its title and says why; the codes stay in ``detail`` for programs.
        super().__init__(
            "claim_ineligible",
            _("The claim does not meet the subsidy rules: %(rules)s")
            % {"rules": "；".join(f"{rules.rule_title(r.code)}：{r.message}" for r in failed)},
            {
                "rules": [
                    {
                        "code": r.code,
                        "title": rules.rule_title(r.code),
                        "clause": rules.rule_clause(r.code),
                        "message": r.message,
                    }
                    for r in failed
                ]
            },
        )
        self.results = results


class InvalidTransition(ApplicationError):
    status_code = 409


# -- checking ---------------------------------------------------------------------------------


def _context(
    *,
    trainee: Trainee,
    training_certificate: TrainingCertificate | None,
    level_certificate: LevelCertificate | None,
    bureau: Bureau | None,
    claim: SubsidyClaim | None,
    now: datetime.datetime | None = None,
) -> rules.ClaimContext:
    today = timezone.localdate(now or timezone.now())
    # Load what the rules read in one query per object, whatever the caller had cached, so
    # a check costs the same fixed number of queries from the admin, the API or a command.
    if training_certificate is not None:
        training_certificate = TrainingCertificate.objects.select_related("plan", "institution").get(
            pk=training_certificate.pk
        )
    if level_certificate is not None:
        level_certificate = LevelCertificate.objects.select_related("evaluator", "occupation").get(
            pk=level_certificate.pk
        )
    if bureau is not None and not Bureau._meta.get_field("city").is_cached(bureau):
        bureau = Bureau.objects.select_related("city").get(pk=bureau.pk)
    return rules.ClaimContext(
        trainee=trainee,
        training_certificate=training_certificate,
        level_certificate=level_certificate,
        bureau=bureau,
        today=today,
        # A re-check counts in the year the claim was submitted, not the year of the review.
        year=claim.claim_year if claim is not None else today.year,
        settings=PolicySettings.current(),
        claim=claim,
        at_submission=claim is None,
    )


def claim_check(
    *,
    trainee: Trainee,
    training_certificate: TrainingCertificate | None,
    level_certificate: LevelCertificate | None,
    bureau: Bureau | None,
    claim: SubsidyClaim | None = None,
) -> list[rules.RuleResult]:
    """Every rule's result for a prospective claim (``claim=None``) or an existing one.

    For an existing claim the counts leave the claim itself out and the rules judged at
    submission only (the claim window) are not run again.
    """
    ctx = _context(
        trainee=trainee,
        training_certificate=training_certificate,
        level_certificate=level_certificate,
        bureau=bureau,
        claim=claim,
    )
    return rules.run_rules(ctx)


# Which rule a partial unique constraint stands for, when the database (not the rules) says no.
_CONSTRAINT_RULES = {
    "subsidies_subsidyclaim_one_active_per_occupation_level": rules.DUPLICATE_OCCUPATION_LEVEL,
    "subsidies_subsidyclaim_one_active_per_training_certificate": rules.CERTIFICATE_ALREADY_USED,
    "subsidies_subsidyclaim_one_active_per_level_certificate": rules.CERTIFICATE_ALREADY_USED,
}
# SQLite names the columns, not the constraint.
_SQLITE_COLUMNS_RULES = {
    "subsidies_subsidyclaim.trainee_id, subsidies_subsidyclaim.occupation_id": rules.DUPLICATE_OCCUPATION_LEVEL,
    "subsidies_subsidyclaim.training_certificate_id": rules.CERTIFICATE_ALREADY_USED,
    "subsidies_subsidyclaim.level_certificate_id": rules.CERTIFICATE_ALREADY_USED,
}


def _rule_for_integrity_error(exc: IntegrityError) -> str | None:
    cause = exc.__cause__
    name = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if name in _CONSTRAINT_RULES:
        return _CONSTRAINT_RULES[name]
    text = str(exc)
    for key, code in {**_CONSTRAINT_RULES, **_SQLITE_COLUMNS_RULES}.items():
        if key in text:
            return code
    return None


_LOADED_RELATIONS = [
    "trainee",
    "training_certificate",
    "level_certificate",
    "occupation",
    "bureau",
    "standard",
    "submitted_by",
    "decided_by",
]


def _rule_failure(code: str) -> rules.RuleResult:
    """The result a rule would have given, for a failure first seen by the database."""
    messages = {
        rules.DUPLICATE_OCCUPATION_LEVEL: rules.DUPLICATE_MESSAGE,
        rules.CERTIFICATE_ALREADY_USED: rules.ALREADY_USED_MESSAGE,
    }
    return rules.RuleResult(code=code, passed=False, message=str(messages[code]))


def _check_submitter(actor, *, trainee: Trainee, bureau: Bureau | None) -> None:
    """A trainee claims for themselves; a clerk of the bureau or provincial staff may file for one."""
    if actor is None:  # management commands and the system itself
        return
    if actor.is_provincial:
        return
    if actor.is_bureau_reviewer and bureau is not None and actor.bureau_id == bureau.pk:
        return
    if trainee.user_id is not None and trainee.user_id == actor.pk:
        return
    raise NotPermitted("not_permitted", _("You may not submit a claim for this trainee."))


def claim_submit(
    *,
    trainee: Trainee,
    training_certificate: TrainingCertificate | None,
    level_certificate: LevelCertificate | None,
    bureau: Bureau | None,
    actor=None,
) -> SubsidyClaim:
    """Submit a claim: run every rule, write the claim and its first event, or write nothing.

    Raises ``ClaimIneligible`` naming every failed rule.
    """
    _check_submitter(actor, trainee=trainee, bureau=bureau)
    try:
        with transaction.atomic():
            # The annual limit and "one per occupation and level" count rows that a
            # concurrent submission for the same person could be inserting right now.
            # Locking the trainee row makes those submissions take turns, so each one
            # counts the claims of the ones before it. Every claim write locks it first.
            # The trainee's login comes in the same round trip: the message (站内信) goes to it.
            locked = Trainee.objects.select_for_update(of=("self",)).select_related("user").get(pk=trainee.pk)
            # One instant for the check, the claim year and the submission time.
            now = timezone.now()
            ctx = _context(
                trainee=locked,
                training_certificate=training_certificate,
                level_certificate=level_certificate,
                bureau=bureau,
                claim=None,
                now=now,
            )
            results = rules.run_rules(ctx)
            if rules.failures(results):
                raise ClaimIneligible(results)
            # Passing the rules means both exist: the basis (wrong_bureau) and the standard
            # in force on the certificate's issue date (no_standard).
            standard = ctx.standard
            claim = SubsidyClaim(
                trainee=locked,
                training_certificate=ctx.training_certificate,
                level_certificate=ctx.level_certificate,
                occupation=ctx.level_certificate.occupation,
                level=ctx.level_certificate.level,
                bureau=ctx.bureau,
                basis=ctx.basis,
                standard=standard,
                amount=standard.amount,
                status=ClaimStatus.SUBMITTED,
                claim_year=ctx.year,
                submitted_at=now,
                submitted_by=actor,
                rule_results=[r.as_dict() for r in results],
                rules_checked_at=now,
                # The account the money goes to is fixed at submission (SPEC "Payment").
                payee_kind=locked.payee_kind,
                payee_bank=locked.bank_name,
                payee_account=locked.bank_account,
            )
            # The partial unique constraints were just checked by the rules, in words; the
            # database holds them again at insert time (see the IntegrityError below). The
            # related rows were loaded above, so their existence is not asked again.
            claim.full_clean(exclude=_LOADED_RELATIONS, validate_constraints=False)
            claim.save()
            _event(claim=claim, actor=actor, from_status="", to_status=ClaimStatus.SUBMITTED, at=now)
    except IntegrityError as exc:
        # Another transaction got there first on a certificate (held by a different
        # trainee row, so not serialised by our lock): the database refused the duplicate.
        code = _rule_for_integrity_error(exc)
        if code is None:
            raise
        # Check again now that the winner is committed, to name every rule it breaks;
        # the constraint's own rule stands if the check cannot see why.
        results = claim_check(
            trainee=trainee,
            training_certificate=training_certificate,
            level_certificate=level_certificate,
            bureau=bureau,
        )
        raise ClaimIneligible(results if rules.failures(results) else [_rule_failure(code)]) from exc
    return claim


# -- transitions ------------------------------------------------------------------------------


def _event(
    *, claim: SubsidyClaim, actor, from_status: str, to_status: str, at, reason: str = ""
) -> ClaimEvent:
    """Log a transition, tell the trainee (in the same transaction) and announce it after commit."""
    event = ClaimEvent(
        claim=claim, actor=actor, at=at, from_status=from_status, to_status=to_status, reason=reason
    )
    event.full_clean(exclude=["claim", "actor"])  # both are rows in hand
    event.save()
    _tell_trainee(claim=claim, to_status=to_status, reason=reason)
    claim_id = claim.pk
    if not from_status:
        transaction.on_commit(lambda: claim_submitted.send(sender=SubsidyClaim, claim_id=claim_id))
    transaction.on_commit(
        lambda: claim_status_changed.send(
            sender=SubsidyClaim, claim_id=claim_id, from_status=from_status, to_status=to_status
        )
    )
    return event


def claim_link(claim: SubsidyClaim) -> str:
    """The claim's page in the trainee service (学员服务)."""
    return f"/me/claims/{claim.pk}/"


def _tell_trainee(*, claim: SubsidyClaim, to_status: str, reason: str) -> None:
    """One message (站内信) to the trainee on each step of their claim, if they have a login."""
    if claim.trainee.user_id is None:
        return
    recipient = claim.trainee.user
    values = {
        "number": claim.pk,
        "occupation": claim.occupation.name,
        "level": claim.get_level_display(),
        "bureau": claim.bureau.name,
        "amount": claim.paid_amount if to_status == ClaimStatus.PAID else claim.amount,
        "paid_on": claim.paid_on.isoformat() if claim.paid_on else "",
        "reason": reason,
    }
    texts = {
        ClaimStatus.SUBMITTED: (
            _("Claim No. %(number)s received"),
            _(
                "Your claim for %(occupation)s (%(level)s) was submitted to %(bureau)s. "
                "The bureau will review it; you will get a message when it decides."
            ),
        ),
        ClaimStatus.APPROVED: (
            _("Claim No. %(number)s approved"),
            _(
                "%(bureau)s approved your claim for %(occupation)s (%(level)s): %(amount)s yuan. "
                "The money will be paid to your payee account; you will get a message when it is paid."
            ),
        ),
        ClaimStatus.REJECTED: (
            _("Claim No. %(number)s not approved"),
            _(
                "%(bureau)s did not approve your claim for %(occupation)s (%(level)s). Reason: %(reason)s. "
                "If you can correct this, you may submit a new claim."
            ),
        ),
        ClaimStatus.PAID: (
            _("Claim No. %(number)s paid"),
            _(
                "%(amount)s yuan for %(occupation)s (%(level)s) was paid to your payee account on %(paid_on)s."
            ),
        ),
        ClaimStatus.WITHDRAWN: (
            _("Claim No. %(number)s withdrawn"),
            _("You withdrew your claim for %(occupation)s (%(level)s). You may submit it again."),
        ),
    }
    if to_status not in texts:
        return
    title, body = texts[to_status]
    message_send(
        recipient=recipient,
        kind=MessageKind.PAYMENT if to_status == ClaimStatus.PAID else MessageKind.CLAIM,
        title=title % values,
        body=body % values,
        link=claim_link(claim),
        subject=claim,
    )


def _lock(claim: SubsidyClaim) -> SubsidyClaim:
    """Lock the trainee, then the claim: the same order as ``claim_submit``, so no deadlock,
    and a decision sees every claim of the person committed before it."""
    Trainee.objects.select_for_update().filter(pk=claim.trainee_id).first()
    # The bureau (with its city) and the occupation come in the same round trip: the rules
    # and the trainee's message read them.
    return (
        SubsidyClaim.objects.select_for_update(of=("self",))
        .select_related("trainee__user", "bureau__city", "occupation")
        .get(pk=claim.pk)
    )


def _authorise(*, claim: SubsidyClaim, actor, target: str) -> None:
    """Wrong actor -> NotPermitted (403); wrong state -> invalid_transition (409)."""
    mover = mover_for(target)
    if not is_mover(actor, claim, mover):
        if mover == Mover.OWN_TRAINEE:
            message = _("Only the trainee who submitted the claim may withdraw it.")
        else:
            message = _("Only the bureau the claim was filed to may decide it.")
        raise NotPermitted("not_permitted", message)
    if target not in allowed_targets(claim.status):
        raise InvalidTransition(
            "invalid_transition",
            _("A claim that is %(status)s cannot be moved to %(target)s.")
            % {"status": claim.get_status_display(), "target": ClaimStatus(target).label},
            {"from": claim.status, "to": target},
        )


def claim_approve(*, claim: SubsidyClaim, actor) -> SubsidyClaim:
    """审核通过. The rules run again (the world may have changed since submission); if any
    fails, the approval is refused with ``claim_ineligible`` and the results are kept on
    the claim for the reviewer to read."""
    refused: list[rules.RuleResult] | None = None
    with transaction.atomic():
        claim = _lock(claim)
        _authorise(claim=claim, actor=actor, target=ClaimStatus.APPROVED)
        # The check loads both certificates itself (with what the rules read); references by
        # id spare the two queries that following the claim's foreign keys would cost.
        results = claim_check(
            trainee=claim.trainee,
            training_certificate=TrainingCertificate(pk=claim.training_certificate_id),
            level_certificate=LevelCertificate(pk=claim.level_certificate_id),
            bureau=claim.bureau,
            claim=claim,
        )
        now = timezone.now()
        claim.rule_results = [r.as_dict() for r in results]
        claim.rules_checked_at = now
        if rules.failures(results):
            # Keep the results (committed), refuse the move (raised after the commit).
            claim.save(update_fields=["rule_results", "rules_checked_at"])
            refused = results
        else:
            claim.status = ClaimStatus.APPROVED
            claim.decided_at = now
            claim.decided_by = actor
            claim.full_clean(exclude=_LOADED_RELATIONS, validate_constraints=False)
            claim.save()
            _event(
                claim=claim, actor=actor, from_status=ClaimStatus.SUBMITTED, to_status=claim.status, at=now
            )
    if refused is not None:
        raise ClaimIneligible(refused)
    return claim


def claim_reject(*, claim: SubsidyClaim, actor, reason: str) -> SubsidyClaim:
    """不予通过, with a reason (required)."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("reason_required", _("A reason is required to reject a claim."))
    with transaction.atomic():
        claim = _lock(claim)
        _authorise(claim=claim, actor=actor, target=ClaimStatus.REJECTED)
        now = timezone.now()
        claim.status = ClaimStatus.REJECTED
        claim.reject_reason = reason
        claim.decided_at = now
        claim.decided_by = actor
        claim.full_clean(exclude=_LOADED_RELATIONS, validate_constraints=False)
        claim.save()
        _event(
            claim=claim,
            actor=actor,
            from_status=ClaimStatus.SUBMITTED,
            to_status=claim.status,
            at=now,
            reason=reason,
        )
    return claim


def claim_withdraw(*, claim: SubsidyClaim, actor) -> SubsidyClaim:
    """已撤回: by the claim's own trainee, only while it is submitted (unreviewed)."""
    with transaction.atomic():
        claim = _lock(claim)
        _authorise(claim=claim, actor=actor, target=ClaimStatus.WITHDRAWN)
        now = timezone.now()
        claim.status = ClaimStatus.WITHDRAWN
        claim.withdrawn_at = now
        claim.full_clean(exclude=_LOADED_RELATIONS, validate_constraints=False)
        claim.save()
        _event(claim=claim, actor=actor, from_status=ClaimStatus.SUBMITTED, to_status=claim.status, at=now)
    return claim


def claim_mark_paid(
    *, claim: SubsidyClaim, actor, paid_on: datetime.date, amount: Decimal, voucher_number: str
) -> SubsidyClaim:
    """已拨付: record the payment of an approved claim."""
    voucher_number = (voucher_number or "").strip()
    errors: dict[str, str] = {}
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, TypeError):
        errors["amount"] = _("Enter the amount paid in yuan.")
    if not isinstance(paid_on, datetime.date):
        errors["paid_on"] = _("Enter the payment date.")
    if not voucher_number:
        errors["voucher_number"] = _("Enter the payment voucher number.")
    if errors:
        raise ApplicationError("invalid_payment", _("The payment record is incomplete."), errors)
    with transaction.atomic():
        claim = _lock(claim)
        _authorise(claim=claim, actor=actor, target=ClaimStatus.PAID)
        if amount <= 0 or amount > claim.amount:
            raise ApplicationError(
                "invalid_payment",
                _("The amount paid must be more than zero and at most the claim's amount."),
                {"amount": str(amount)},
            )
        if paid_on < timezone.localdate(claim.decided_at) or paid_on > timezone.localdate():
            raise ApplicationError(
                "invalid_payment",
                _("The payment date must lie between the approval and today."),
                {"paid_on": paid_on.isoformat()},
            )
        now = timezone.now()
        claim.status = ClaimStatus.PAID
        claim.paid_on = paid_on
        claim.paid_amount = amount
        claim.voucher_number = voucher_number
        claim.full_clean(exclude=_LOADED_RELATIONS, validate_constraints=False)
        claim.save()
        _event(claim=claim, actor=actor, from_status=ClaimStatus.APPROVED, to_status=claim.status, at=now)
    return claim


# -- other subsidies --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    created: int
    skipped: int  # already present (a re-import): the import is idempotent


IMPORT_FIELDS = ("resident_id", "name", "kind", "grant_date", "amount", "city", "reference_number")


def _parse_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    try:
        return parse_date(text)
    except ValueError:
        return None


def external_subsidy_import(*, rows: Iterable[Mapping[str, Any]], actor=None) -> ImportResult:
    """Import other vocational-training subsidies (e.g. 技能提升补贴) that count toward the
    annual limit.

    ``rows`` are mappings with the keys of ``IMPORT_FIELDS`` (``city`` a GB/T 2260 code or a
    name, optional) and optionally ``row`` (the row number to report). Every row is checked;
    if any is wrong, nothing is written and every error is reported with its row number. A
    record already present (same person, kind and grant date) is skipped, so importing the
    same file twice changes nothing.
    """
    if actor is not None and not (actor.is_provincial or actor.is_bureau_reviewer):
        raise NotPermitted("not_permitted", _("You may not import subsidy records."))
    cities = {c.code: c for c in City.objects.all()}
    cities.update({c.name: c for c in cities.values()})
    errors: list[dict[str, Any]] = []
    records: list[ExternalSubsidyRecord] = []
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows, start=1):
        number = row.get("row", index)
        row_errors: dict[str, str] = {}
        resident_id = normalize_resident_id(str(row.get("resident_id") or ""))
        try:
            validate_resident_id(resident_id)
        except ValidationError as exc:
            row_errors["resident_id"] = " ".join(str(m) for m in exc.messages)
        name = str(row.get("name") or "").strip()
        if not name:
            row_errors["name"] = _("Enter the name.")
        kind = str(row.get("kind") or "").strip()
        if not kind:
            row_errors["kind"] = _("Enter the kind of subsidy.")
        grant_date = _parse_date(row.get("grant_date"))
        if grant_date is None:
            row_errors["grant_date"] = _("Enter the grant date as YYYY-MM-DD.")
        amount = None
        try:
            amount = Decimal(str(row.get("amount")).strip())
            if not amount.is_finite() or amount < 0:
                raise InvalidOperation
        except (InvalidOperation, TypeError, ValueError):
            row_errors["amount"] = _("Enter the amount in yuan (zero or more).")
        city_key = str(row.get("city") or "").strip()
        city = cities.get(city_key) if city_key else None
        if city_key and city is None:
            row_errors["city"] = _("Unknown city.")
        if city is None and actor is not None and actor.is_bureau_reviewer and actor.bureau.city_id:
            city = actor.bureau.city
        key = (resident_id, kind, grant_date)
        if not row_errors and key in seen:
            row_errors["row"] = _("The same record appears in row %(row)s.") % {"row": seen[key]}
        if row_errors:
            errors.append({"row": number, "errors": row_errors})
            continue
        seen[key] = number
        records.append(
            ExternalSubsidyRecord(
                resident_id=resident_id,
                name=name,
                kind=kind,
                grant_date=grant_date,
                amount=amount,
                city=city,
                reference_number=str(row.get("reference_number") or "").strip()[:50],
            )
        )
    if errors:
        raise ApplicationError(
            "import_invalid",
            _("%(count)s rows are not valid; nothing was imported.") % {"count": len(errors)},
            {"errors": errors},
        )
    with transaction.atomic():
        existing = set(
            ExternalSubsidyRecord.objects.filter(
                resident_id__in={r.resident_id for r in records}
            ).values_list("resident_id", "kind", "grant_date")
        )
        new = [r for r in records if (r.resident_id, r.kind, r.grant_date) not in existing]
        # ignore_conflicts: a concurrent import of the same file must not fail either.
        ExternalSubsidyRecord.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    return ImportResult(created=len(new), skipped=len(records) - len(new))
