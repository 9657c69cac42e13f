"""Writes of the subsidies app: submitting and deciding claims, importing other subsidies.

Every function here is keyword-only and never takes ``request``: the admin, the API and the
management commands all call the same code.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import MessageKind, User
from accounts.services import message_send
from certificates.models import LevelCertificate, TrainingCertificate
from core.errors import ApplicationError, NotPermitted
from core.pii_fields import blind_lookup_in
from core.prepared import Param, PreparedQuery, instance_from, model_columns
from core.xlsx_import import ImportResult
from reference.models import Bureau, City, Occupation
from subsidies import rules
from subsidies.models import (
    CityMeasure,
    ClaimDocument,
    ClaimEvent,
    ClaimStatus,
    ExternalSubsidyRecord,
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
    document_kinds: set[str] | None = None,
) -> rules.ClaimContext:
    today = timezone.localdate(now or timezone.now())
    # A re-check counts in the year the claim was submitted, not the year of the review.
    year = claim.claim_year if claim is not None else today.year
    # Load what the rules read in one query per object, whatever the caller had cached, so
    # a check costs the same fixed number of queries from the admin, the API or a command.
    # Each query also answers what the rules would otherwise ask separately (the catalogue
    # status of the institution and the evaluator, the standard in force, the other
    # subsidies of the year, the policy settings): see ``rules.load_*``.
    preloaded: dict[str, Any] = {}
    if training_certificate is not None:
        training_certificate, preloaded["institution_listed"] = rules.load_training_certificate(
            training_certificate.pk
        )
    if level_certificate is not None:
        (
            level_certificate,
            preloaded["evaluator_status"],
            preloaded["preloaded_standard"],
            preloaded["preloaded_external"],
        ) = rules.load_level_certificate(
            level_certificate.pk, resident_id_index=trainee.resident_id_index, year=year
        )
    bureau, settings, preloaded["preloaded_measure_id"] = rules.load_bureau_and_settings(bureau, today=today)
    return rules.ClaimContext(
        trainee=trainee,
        training_certificate=training_certificate,
        level_certificate=level_certificate,
        bureau=bureau,
        today=today,
        year=year,
        settings=settings,
        claim=claim,
        at_submission=claim is None,
        document_kinds=document_kinds,
        **preloaded,
    )


def claim_check(
    *,
    trainee: Trainee,
    training_certificate: TrainingCertificate | None,
    level_certificate: LevelCertificate | None,
    bureau: Bureau | None,
    claim: SubsidyClaim | None = None,
    documents: list[ClaimDocument] | None = None,
) -> list[rules.RuleResult]:
    """Every rule's result for a prospective claim (``claim=None``) or an existing one.

    For an existing claim the counts leave the claim itself out and the rules judged at
    submission only (the claim window) are not run again. ``documents``: the supporting
    documents the claim would carry (default: the trainee's uploads not yet on a claim).
    """
    ctx = _context(
        trainee=trainee,
        training_certificate=training_certificate,
        level_certificate=level_certificate,
        bureau=bureau,
        claim=claim,
        document_kinds=None if documents is None else {d.kind for d in documents},
    )
    return rules.run_rules(ctx)


def claim_preview(
    *,
    trainee: Trainee,
    training_certificate: TrainingCertificate | None,
    level_certificate: LevelCertificate | None,
    bureau: Bureau | None,
    documents: list[ClaimDocument] | None = None,
) -> dict[str, Any]:
    """What the claim wizard shows before anything is written: every rule's result, the
    measure in force, the computation (standard × share + uplift = amount) and the
    documents the measure requires for the basis, with which are still missing."""
    ctx = _context(
        trainee=trainee,
        training_certificate=training_certificate,
        level_certificate=level_certificate,
        bureau=bureau,
        claim=None,
        document_kinds=None if documents is None else {d.kind for d in documents},
    )
    results = rules.run_rules(ctx)
    computation = rules.compute_amount(ctx)
    required = (
        [r for r in ctx.measure.requirements.all() if r.basis == ctx.basis]
        if ctx.measure is not None and ctx.basis
        else []
    )
    missing = rules.missing_document_requirements(ctx)
    return {
        "results": results,
        "basis": ctx.basis,
        "measure": ctx.measure,
        "computation": computation,
        "required_documents": required,
        "missing_documents": missing,
    }


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
    "measure",
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
    if bureau is not None and actor.is_reviewer_of_bureau(bureau.pk):
        return
    if trainee.user_id is not None and trainee.user_id == actor.pk:
        return
    raise NotPermitted("not_permitted", _("You may not submit a claim for this trainee."))


_LOCKED_TRAINEE = PreparedQuery(
    lambda: (
        Trainee.objects.select_for_update(of=("self",))
        .filter(pk=Param("pk", BigIntegerField()))
        .values(*model_columns(Trainee), *model_columns(User, "user__"))
    )
)
_PENDING_DOCUMENTS = PreparedQuery(
    lambda: (
        ClaimDocument.objects.filter(trainee_id=Param("trainee", BigIntegerField()), claim__isnull=True)
        .order_by("id")
        .values("id", "kind")
    )
)


def _lock_trainee(pk: int) -> Trainee:
    """Lock the trainee row (until the end of the transaction) and load it, with its login:
    the message (站内信) goes to it."""
    row = _LOCKED_TRAINEE.first(pk=pk)
    if row is None:
        raise Trainee.DoesNotExist
    trainee = instance_from(Trainee, row)
    if trainee.user_id is not None:
        trainee.user = instance_from(User, row, prefix="user__")
    return trainee


def claim_submit(
    *,
    trainee: Trainee,
    training_certificate: TrainingCertificate | None,
    level_certificate: LevelCertificate | None,
    bureau: Bureau | None,
    actor=None,
    documents: list[ClaimDocument] | None = None,
) -> SubsidyClaim:
    """Submit a claim: run every rule, write the claim and its first event, or write nothing.

    ``documents``: the supporting documents uploaded for it (the trainee's, not on another
    claim); by default every upload of the trainee not yet on a claim. They are attached to
    the claim. Raises ``ClaimIneligible`` naming every failed rule.
    """
    _check_submitter(actor, trainee=trainee, bureau=bureau)
    try:
        with transaction.atomic():
            # The annual limit and "one per occupation and level" count rows that a
            # concurrent submission for the same person could be inserting right now.
            # Locking the trainee row makes those submissions take turns, so each one
            # counts the claims of the ones before it. Every claim write locks it first.
            # The trainee's login comes in the same round trip: the message (站内信) goes to it.
            locked = _lock_trainee(trainee.pk)
            # One instant for the check, the claim year and the submission time.
            now = timezone.now()
            # The uploads are the trainee's, so the trainee lock above also serialises
            # attaching them: two submissions cannot both take the same document. (Read in a
            # statement of their own after the lock, so they are what the lock's holder left.)
            pending = {row["id"]: row["kind"] for row in _PENDING_DOCUMENTS.rows(trainee=locked.pk)}
            if documents is not None:
                wanted = {d.pk for d in documents}
                if not wanted <= pending.keys():
                    raise ApplicationError(
                        "invalid_documents",
                        _(
                            "A document given is not one of your uploads waiting for a claim; upload it again."
                        ),
                        {"documents": sorted(wanted - pending.keys())},
                    )
                pending = {pk: kind for pk, kind in pending.items() if pk in wanted}
            attached = pending
            ctx = _context(
                trainee=locked,
                training_certificate=training_certificate,
                level_certificate=level_certificate,
                bureau=bureau,
                claim=None,
                now=now,
                document_kinds=set(attached.values()),
            )
            results = rules.run_rules(ctx)
            # A refusal is raised below, after the block: nothing was written, and leaving the
            # transaction by COMMIT rather than ROLLBACK keeps the connection's prepared
            # statements, which psycopg deallocates on every rollback (core/postgresql).
            refused = bool(rules.failures(results))
            if not refused:
                # Passing the rules means both exist: the basis (wrong_bureau) and the standard
                # in force on the certificate's issue date (no_standard).
                standard = ctx.standard
                computation = rules.compute_amount(ctx)
                claim = SubsidyClaim(
                    trainee=locked,
                    training_certificate=ctx.training_certificate,
                    level_certificate=ctx.level_certificate,
                    occupation=ctx.level_certificate.occupation,
                    level=ctx.level_certificate.level,
                    bureau=ctx.bureau,
                    basis=ctx.basis,
                    standard=standard,
                    # Under the city's measure in force today (SPEC "Each city's supporting measures").
                    measure=ctx.measure,
                    standard_amount=computation.standard,
                    share_percent=computation.share_percent,
                    uplift_amount=computation.uplift,
                    amount=computation.amount,
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
                if attached:
                    ClaimDocument.objects.filter(pk__in=list(attached)).update(claim=claim)
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
    if refused:
        raise ClaimIneligible(results)
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


_LOCKED_TRAINEE_ONLY = PreparedQuery(
    lambda: Trainee.objects.select_for_update().filter(pk=Param("pk", BigIntegerField())).values("id")
)
_LOCKED_CLAIM = PreparedQuery(
    lambda: (
        SubsidyClaim.objects.select_for_update(of=("self",))
        .filter(pk=Param("pk", BigIntegerField()))
        .values(
            *model_columns(SubsidyClaim),
            *model_columns(Trainee, "trainee__"),
            *model_columns(User, "trainee__user__"),
            *model_columns(Bureau, "bureau__"),
            *model_columns(City, "bureau__city__"),
            *model_columns(Occupation, "occupation__"),
        )
    )
)


def _lock(claim: SubsidyClaim) -> SubsidyClaim:
    """Lock the trainee, then the claim: the same order as ``claim_submit``, so no deadlock,
    and a decision sees every claim of the person committed before it."""
    _LOCKED_TRAINEE_ONLY.rows(pk=claim.trainee_id)
    # The trainee with its login, the bureau with its city and the occupation come in the
    # same round trip: the rules and the trainee's message read them.
    row = _LOCKED_CLAIM.first(pk=claim.pk)
    if row is None:
        raise SubsidyClaim.DoesNotExist
    locked = instance_from(SubsidyClaim, row)
    locked.trainee = instance_from(Trainee, row, prefix="trainee__")
    if locked.trainee.user_id is not None:
        locked.trainee.user = instance_from(User, row, prefix="trainee__user__")
    locked.bureau = instance_from(Bureau, row, prefix="bureau__")
    locked.bureau.city = instance_from(City, row, prefix="bureau__city__")
    locked.occupation = instance_from(Occupation, row, prefix="occupation__")
    return locked


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


def claim_log_step(*, claim: SubsidyClaim, actor, note: str, at=None) -> ClaimEvent:
    """Log a step that does not move the claim (put into a payment batch, a bank failure, …).

    The event keeps the claim's status as both ``from`` and ``to``, so the history reads as
    one timeline; no message and no ``claim_status_changed`` (nothing changed state). Call
    it inside the transaction of the step it records.
    """
    note = (note or "").strip()
    if not note:
        raise ValueError("a step needs a note")
    event = ClaimEvent(
        claim=claim,
        actor=actor,
        at=at or timezone.now(),
        from_status=claim.status,
        to_status=claim.status,
        reason=note,
    )
    event.full_clean(exclude=["claim", "actor"])
    event.save()
    return event


def claim_copy_payee_account(*, claim: SubsidyClaim, actor) -> SubsidyClaim:
    """Copy the trainee's current payee account onto an unpaid claim (after the bank refused
    the old one and the trainee corrected it). Only the bureau the claim was filed to."""
    if not is_mover(actor, claim, Mover.FILING_BUREAU):
        raise NotPermitted("not_permitted", _("Only the bureau the claim was filed to may decide it."))
    with transaction.atomic():
        claim = _lock(claim)
        if claim.status not in (ClaimStatus.SUBMITTED, ClaimStatus.APPROVED):
            raise InvalidTransition(
                "claim_closed",
                _("The payee account of a claim that is %(status)s cannot change.")
                % {"status": claim.get_status_display()},
            )
        trainee = claim.trainee
        if not trainee.has_payee_account:
            raise ApplicationError(
                "no_payee_account",
                _("The trainee has not set a payee account yet: ask them to set it in the trainee service."),
            )
        claim.payee_kind = trainee.payee_kind
        claim.payee_bank = trainee.bank_name
        claim.payee_account = trainee.bank_account
        claim.save(update_fields=["payee_kind", "payee_bank", "payee_account"])
        claim_log_step(
            claim=claim,
            actor=actor,
            note=_("Payee account updated from the trainee's account: %(bank)s %(account)s.")
            % {"bank": claim.payee_bank, "account": claim.masked_payee_account},
        )
    return claim


# -- other subsidies --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExternalSubsidyRow:
    """One other subsidy to record, already clean: parsed and checked by the one parser of the
    file, ``subsidies.imports.ExternalSubsidyImport``, whichever door the file came in by."""

    resident_id: str  # normalised and valid (GB 11643)
    name: str
    kind: str
    grant_date: datetime.date
    amount: Decimal
    city: City | None = None
    reference_number: str = ""


def external_subsidy_check_actor(actor) -> None:
    """Provincial staff and bureau reviewers record other subsidies; ``None`` is the operator
    at the command line (``import_external_subsidies``)."""
    if actor is not None and not (actor.is_provincial or actor.is_bureau_reviewer):
        raise NotPermitted("not_permitted", _("You may not import subsidy records."))


def external_subsidy_import(*, rows: Iterable[ExternalSubsidyRow], actor=None) -> ImportResult:
    """Record other vocational-training subsidies (e.g. 技能提升补贴) that count toward the
    annual limit.

    A record already present (same person, kind and grant date) is left as it is, so
    importing the same file twice changes nothing. A row without a city is the reviewer's
    own city's grant.
    """
    external_subsidy_check_actor(actor)
    own_city = actor.bureau.city if actor is not None and actor.is_bureau_reviewer else None
    records: dict[tuple, ExternalSubsidyRecord] = {}
    for row in rows:
        key = (row.resident_id, row.kind, row.grant_date)
        records.setdefault(
            key,
            ExternalSubsidyRecord(
                resident_id=row.resident_id,
                name=row.name,
                kind=row.kind,
                grant_date=row.grant_date,
                amount=row.amount,
                city=row.city or own_city,
                reference_number=row.reference_number,
            ),
        )
    with transaction.atomic():
        existing = set(
            ExternalSubsidyRecord.objects.filter(
                **blind_lookup_in(
                    ExternalSubsidyRecord,
                    "resident_id",
                    {resident_id for resident_id, _kind, _day in records},
                )
            ).values_list("resident_id", "kind", "grant_date")
        )
        new = [record for key, record in records.items() if key not in existing]
        # ignore_conflicts: a concurrent import of the same file must not fail either.
        ExternalSubsidyRecord.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    return ImportResult(created=len(new), unchanged=len(records) - len(new))


# -- supporting documents (申领材料) ----------------------------------------------------------------

DOCUMENT_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
DEFAULT_DOCUMENT_MAX_BYTES = 5 * 1024 * 1024


def document_max_bytes() -> int:
    from django.conf import settings

    return getattr(settings, "CLAIM_DOCUMENT_MAX_BYTES", DEFAULT_DOCUMENT_MAX_BYTES)


def _sniff_type(head: bytes) -> str | None:
    """The file's type from its first bytes, never from its name or the browser's word."""
    for signature, content_type in DOCUMENT_SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def claim_document_attach(
    *, trainee: Trainee, kind: str, file, actor, claim: SubsidyClaim | None = None
) -> ClaimDocument:
    """Upload a supporting document (居住证, 劳动合同, ...) for a claim.

    Without ``claim``: the claim wizard's upload before submission; ``claim_submit`` attaches
    it to the claim. With ``claim``: added to the trainee's submitted claim (a reviewer asked
    for it). Only the trainee uploads. PDF, JPEG or PNG (judged by the content), at most
    ``CLAIM_DOCUMENT_MAX_BYTES`` (5 MB). Stored through Django's storage API.
    """
    from subsidies.models import DocumentKind

    if actor is None or trainee.user_id is None or trainee.user_id != actor.pk:
        raise NotPermitted("not_permitted", _("Only the trainee may upload documents for their claims."))
    errors: dict[str, str] = {}
    if kind not in DocumentKind.values:
        errors["kind"] = _("Choose which document this is.")
    size = getattr(file, "size", None)
    if file is None or not size:
        errors["file"] = _("Choose a file to upload.")
    elif size > document_max_bytes():
        errors["file"] = _("The file is larger than %(mb)d MB; scan it at a lower resolution.") % {
            "mb": document_max_bytes() // (1024 * 1024)
        }
    content_type = None
    if "file" not in errors:
        file.seek(0)
        content_type = _sniff_type(file.read(16))
        file.seek(0)
        if content_type is None:
            errors["file"] = _("Upload a PDF, JPG or PNG file (a photo or a scan of the document).")
    if errors:
        raise ApplicationError("invalid_document", _("The document cannot be accepted."), errors)
    with transaction.atomic():
        # The trainee lock: the same one claim_submit takes before attaching the uploads.
        Trainee.objects.select_for_update().filter(pk=trainee.pk).first()
        if claim is not None:
            claim = SubsidyClaim.objects.select_for_update(of=("self",)).get(pk=claim.pk)
            if claim.trainee_id != trainee.pk:
                raise NotPermitted(
                    "not_permitted", _("Only the trainee may upload documents for their claims.")
                )
            if claim.status != ClaimStatus.SUBMITTED:
                raise InvalidTransition(
                    "claim_decided",
                    _("The claim has been decided; documents can no longer be added to it."),
                )
        name = str(getattr(file, "name", "") or "document").rsplit("/", 1)[-1][:200]
        document = ClaimDocument(
            trainee=trainee,
            claim=claim,
            kind=kind,
            original_name=name,
            content_type=content_type,
            size=size,
            uploaded_by=actor,
            uploaded_at=timezone.now(),
        )
        # Saved through the storage API (local disk, or an S3-compatible store).
        document.file.save(name, file, save=False)
        document.save()
    return document


# -- city supporting measures (各市配套措施) -----------------------------------------------------------


def may_edit_measures_of(actor, city_id: int | None) -> bool:
    """Provincial staff, and the reviewers of the city's own bureau."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_provincial:
        return True
    return bool(actor.is_bureau_reviewer and actor.bureau_id and actor.bureau.city_id == city_id)


def measure_save(*, measure: CityMeasure, actor) -> CityMeasure:
    """Add a city's measure, or change one not yet in force.

    A measure in force (or past) is history: claims were computed under it. It is never
    changed; a new measure from a later date replaces it (``measure_in_force``).
    """
    if not may_edit_measures_of(actor, measure.city_id):
        raise NotPermitted(
            "not_permitted", _("Only provincial staff and the city's own bureau may set its measures.")
        )
    today = timezone.localdate()
    if measure.pk is not None:
        stored = CityMeasure.objects.get(pk=measure.pk)
        if stored.effective_from <= today:
            raise ApplicationError(
                "measure_in_force",
                _(
                    "This measure has been in force since %(date)s and claims were computed under it; "
                    "add a new measure from a later date instead of changing it."
                )
                % {"date": stored.effective_from},
            )
    if measure.effective_from is not None and measure.effective_from < today and measure.pk is None:
        raise ApplicationError(
            "measure_backdated",
            _(
                "A new measure starts today or later; claims already submitted keep the measure they were computed under."
            ),
            {"effective_from": str(measure.effective_from)},
        )
    if measure.pk is None:
        measure.created_by = actor
    measure.full_clean()
    measure.save()
    return measure
