"""The claim rules of SPEC.md, one small function each (hypha's ``permissions_map`` shape).

Every rule is registered under its stable code and returns ``None`` when the claim passes it
or a translatable message when it fails. :func:`run_rules` runs them all and returns every
result, pass and fail, so the admin can show the whole check and a refusal names every
failed rule, not only the first.

A rule reads what it needs from a :class:`ClaimContext`. Queries the rules share (the
trainee's active claims, the standard in force) are cached on the context, so a check costs
the same small, fixed number of queries however long the history is.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    DateField,
    Exists,
    OuterRef,
    Q,
    Subquery,
)
from django.utils.translation import gettext_lazy as _

from certificates.models import LevelCertificate, TrainingCertificate
from core.prepared import Param, PreparedObjects, PreparedQuery, instance_from, model_columns
from institutions.models import (
    EvaluationInstitution,
    EvaluatorListing,
    InstitutionListing,
    ListingStatus,
    PlanStatus,
    TrainingInstitution,
    TrainingPlan,
)
from reference.models import Bureau, City, Level, Occupation
from subsidies.models import (
    ACTIVE_CLAIM_STATUSES,
    CityMeasure,
    ClaimBasis,
    DocumentRequirement,
    ExternalSubsidyRecord,
    PolicySettings,
    SubsidyClaim,
    SubsidyStandard,
)
from trainees.models import Trainee, TraineeCategory

# Stable codes, in the order of SPEC.md's table (the order results are reported in).
MISSING_CERTIFICATES = "missing_certificates"
CERTIFICATE_MISMATCH = "certificate_mismatch"
CERTIFICATE_ALREADY_USED = "certificate_already_used"
INSTITUTION_NOT_LISTED = "institution_not_listed"
EVALUATOR_NOT_LISTED = "evaluator_not_listed"
BEFORE_POLICY_START = "before_policy_start"
ANNUAL_LIMIT = "annual_limit"
DUPLICATE_OCCUPATION_LEVEL = "duplicate_occupation_level"
LOWER_LEVEL_AFTER_HIGHER = "lower_level_after_higher"
WRONG_BUREAU = "wrong_bureau"
NO_STANDARD = "no_standard"
CLAIM_WINDOW_CLOSED = "claim_window_closed"
MISSING_DOCUMENTS = "missing_documents"

# Messages also given when the database, not the rule, refuses a duplicate (services.py).
# The msgids are English; the zh-Hans catalogue quotes the policy clause of each rule's docstring.
DUPLICATE_MESSAGE = _("The trainee already has a claim for this occupation and level.")
ALREADY_USED_MESSAGE = _("A certificate of this claim already backs another claim.")

# Judged at submission only (SPEC.md, "Claim window"); approval skips them.
SUBMISSION_ONLY = frozenset({CLAIM_WINDOW_CLOSED})

# What a person reads for each rule: a short title (never the code) and the clause of the
# policy it comes from, quoted as published (so not translated: it is the source text).
RULE_TITLES = {
    MISSING_CERTIFICATES: _("Both certificates held"),
    CERTIFICATE_MISMATCH: _("Certificates match"),
    CERTIFICATE_ALREADY_USED: _("Certificates not used by another claim"),
    INSTITUTION_NOT_LISTED: _("Training institution on the catalogue"),
    EVALUATOR_NOT_LISTED: _("Evaluation institution on the catalogue"),
    BEFORE_POLICY_START: _("Certificate issued after the programme came into force"),
    ANNUAL_LIMIT: _("At most three subsidies a year"),
    DUPLICATE_OCCUPATION_LEVEL: _("Not claimed before for this occupation and level"),
    LOWER_LEVEL_AFTER_HIGHER: _("No lower level after a higher one"),
    WRONG_BUREAU: _("Claimed at the right bureau"),
    NO_STANDARD: _("A subsidy standard in force"),
    CLAIM_WINDOW_CLOSED: _("Claimed within the claim window"),
    MISSING_DOCUMENTS: _("Supporting documents the city requires attached"),
}
RULE_CLAUSES = {
    MISSING_CERTIFICATES: "完成规定的学时和内容，且取得培训合格证书和相应专业技术等级证书的人员",
    CERTIFICATE_MISMATCH: "取得培训合格证书和相应专业技术等级证书",
    CERTIFICATE_ALREADY_USED: "同一职业同一等级不可重复享受",
    INSTITUTION_NOT_LISTED: "培训工作由纳入人力资源社会保障部培训机构目录的我省相关培训机构负责",
    EVALUATOR_NOT_LISTED: "由纳入人力资源社会保障部目录的相关评价机构负责",
    BEFORE_POLICY_START: "本实施方案自2023年9月16日起施行",
    ANNUAL_LIMIT: "每人每年可享受不超过3次",
    DUPLICATE_OCCUPATION_LEVEL: "同一职业同一等级不可重复享受",
    LOWER_LEVEL_AFTER_HIGHER: "浙江省职业培训补贴通行做法：已享受较高等级补贴的，不再享受同职业较低等级补贴",
    WRONG_BUREAU: "可向户籍地、常住地、求职就业地人社保部门申领职业培训补贴，毕业年度毕业生向学校所在地人社保部门申领补贴",
    NO_STANDARD: "公布各职业（工种）不同级次补贴标准",
    CLAIM_WINDOW_CLOSED: "可按各市有关规定申领职业培训补贴",
    MISSING_DOCUMENTS: "可按各市有关规定申领职业培训补贴",
}


def rule_title(code: str) -> str:
    """The rule's title for a person; an unknown code (an old stored result) reads as itself."""
    return str(RULE_TITLES.get(code, code))


def rule_clause(code: str) -> str:
    return RULE_CLAUSES.get(code, "")


def display_results(results: list[dict]) -> list[dict]:
    """Stored or fresh results (``as_dict`` form) for a page: failed first, then passed, then
    not judged, each with its title and clause; the order of SPEC.md's table within each."""

    def rank(r: dict) -> int:
        if r.get("skipped"):
            return 2
        return 1 if r.get("passed") else 0

    order = {code: i for i, code in enumerate(RULE_TITLES)}
    rows = sorted(results, key=lambda r: (rank(r), order.get(r.get("code"), 99)))
    return [
        {
            **r,
            "title": rule_title(r.get("code", "")),
            "clause": rule_clause(r.get("code", "")),
            "outcome": ("failed", "passed", "skipped")[rank(r)],
        }
        for r in rows
    ]


@dataclass(frozen=True)
class RuleResult:
    code: str
    passed: bool
    message: str = ""
    # A rule that cannot be judged because what it reads is missing (no certificate):
    # it neither passes nor fails, and the failure that explains why is reported instead.
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "passed": self.passed, "skipped": self.skipped, "message": self.message}


class Skip(Exception):
    """Raised inside a rule when its inputs are missing; another rule reports that."""


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` later; the month's last day where that day does not exist.

    2024-02-29 + 12 months -> 2025-02-28; 2024-01-31 + 1 month -> 2024-02-29.
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def claim_window_end(issued_on: datetime.date, months: int) -> datetime.date:
    """The last day (inclusive) on which a claim on a certificate issued on ``issued_on`` may be filed."""
    return add_months(issued_on, months)


def claim_basis(*, trainee: Trainee, bureau: Bureau | None, year: int) -> str | None:
    """申领依据: why ``bureau`` is the right one for ``trainee`` in ``year``; None if it is not.

    可向户籍地、常住地、求职就业地人社保部门申领职业培训补贴，毕业年度毕业生向学校所在地人社保部门申领补贴。
    """
    if bureau is None or bureau.kind != Bureau.Kind.CITY or bureau.city is None:
        return None
    if not bureau.city.in_zhejiang:  # 我省行政区域内
        return None
    if is_graduate_in_graduation_year(trainee, year):
        return ClaimBasis.SCHOOL if trainee.school_city_id == bureau.city_id else None
    for basis, city_id in (
        (ClaimBasis.HOUSEHOLD, trainee.household_city_id),
        (ClaimBasis.RESIDENCE, trainee.residence_city_id),
        (ClaimBasis.EMPLOYMENT, trainee.employment_city_id),
    ):
        if city_id is not None and city_id == bureau.city_id:
            return basis
    return None


def is_graduate_in_graduation_year(trainee: Trainee, year: int) -> bool:
    return trainee.category == TraineeCategory.GRADUATE and trainee.graduation_year == year


NOT_LOADED = object()


@dataclass
class ClaimContext:
    """Everything the rules read about one (prospective) claim."""

    trainee: Trainee
    training_certificate: TrainingCertificate | None
    level_certificate: LevelCertificate | None
    bureau: Bureau | None
    today: datetime.date  # the submission date (Asia/Shanghai)
    year: int  # the claim year: the calendar year of submission
    settings: PolicySettings
    claim: SubsidyClaim | None = None  # the claim being re-checked; excluded from counts
    at_submission: bool = True
    # The kinds of supporting document the claim carries (uploaded by the trainee); None:
    # the trainee's documents not yet attached to a claim (the wizard's uploads).
    document_kinds: set[str] | None = None
    # Answers read together with the certificates (``load_certificates``); when left unset
    # the rules ask the database themselves.
    institution_listed: bool | None = None  # listed throughout the plan's dates
    evaluator_status: str | None | object = NOT_LOADED  # catalogue status on the issue date
    preloaded_standard: SubsidyStandard | None | object = NOT_LOADED
    preloaded_external: int | None = None  # other subsidies of the person in the claim year
    preloaded_measure_id: int | None | object = NOT_LOADED  # the measure in force on ``today``

    @cached_property
    def measure(self) -> CityMeasure | None:
        """各市配套措施: the bureau's city's measure in force on the submission date (a re-check
        reads the one the claim was computed under); None: the provincial default."""
        if self.claim is not None and self.claim.pk:
            return self.claim.measure
        if self.bureau is None or self.bureau.city_id is None:
            return None
        if self.preloaded_measure_id is None:
            return None
        if self.preloaded_measure_id is not NOT_LOADED:
            return measure_with_lists(self.preloaded_measure_id)
        return CityMeasure.in_force(city_id=self.bureau.city_id, on=self.today)

    @property
    def claim_window_months(self) -> int:
        return (
            self.measure.claim_window_months
            if self.measure is not None
            else self.settings.claim_window_months
        )

    @cached_property
    def kinds_held(self) -> set[str]:
        if self.document_kinds is not None:
            return set(self.document_kinds)
        from subsidies.models import ClaimDocument

        if self.claim is not None and self.claim.pk:
            return set(ClaimDocument.objects.filter(claim=self.claim).values_list("kind", flat=True))
        return set(
            ClaimDocument.objects.filter(trainee_id=self.trainee.pk, claim__isnull=True).values_list(
                "kind", flat=True
            )
        )

    @cached_property
    def related_active_claims(self) -> list[dict]:
        """Active claims of the trainee, or on either certificate, except the one being checked.

        One query serves ``annual_limit``, ``duplicate_occupation_level``,
        ``lower_level_after_higher`` and ``certificate_already_used``: a person has at most a
        few active claims a year and a certificate at most one, and only the columns the rules
        compare are fetched. Each of the three conditions is an indexed lookup.
        """
        # A missing certificate is NULL in SQL (matches nothing); a claim not yet written
        # excludes id 0, which no claim has.
        return _RELATED_ACTIVE_CLAIMS.rows(
            trainee=self.trainee.pk,
            training=self.training_certificate.pk if self.training_certificate is not None else None,
            level=self.level_certificate.pk if self.level_certificate is not None else None,
            claim=self.claim.pk if self.claim is not None and self.claim.pk else 0,
        )

    @cached_property
    def other_active_claims(self) -> list[dict]:
        """The trainee's active claims in every city, except the one being checked."""
        return [c for c in self.related_active_claims if c["trainee_id"] == self.trainee.pk]

    @cached_property
    def standard(self) -> SubsidyStandard | None:
        cert = self.level_certificate
        if cert is None:
            return None
        if self.preloaded_standard is not NOT_LOADED:
            return self.preloaded_standard
        return SubsidyStandard.in_force(occupation_id=cert.occupation_id, level=cert.level, on=cert.issued_on)

    @cached_property
    def external_subsidies(self) -> int:
        """Other training subsidies imported for the person, granted in the claim year."""
        if self.preloaded_external is not None:
            return self.preloaded_external
        row = _EXTERNAL_COUNT.first(
            resident_id_index=self.trainee.resident_id_index,
            first_day=datetime.date(self.year, 1, 1),
            last_day=datetime.date(self.year, 12, 31),
        )
        return row["n"] if row else 0

    @cached_property
    def basis(self) -> str | None:
        return claim_basis(trainee=self.trainee, bureau=self.bureau, year=self.year)

    def require_certificates(self) -> tuple[TrainingCertificate, LevelCertificate]:
        if self.training_certificate is None or self.level_certificate is None:
            raise Skip
        return self.training_certificate, self.level_certificate

    def require_level_certificate(self) -> LevelCertificate:
        if self.level_certificate is None:
            raise Skip
        return self.level_certificate


Rule = Callable[[ClaimContext], Any]
RULES: dict[str, Rule] = {}


def rule(code: str) -> Callable[[Rule], Rule]:
    """Register a rule under its stable code. The function returns None (pass) or a message."""

    def register(fn: Rule) -> Rule:
        if code in RULES:
            raise ValueError(f"rule {code!r} registered twice")
        fn.code = code
        RULES[code] = fn
        return fn

    return register


@rule(MISSING_CERTIFICATES)
def missing_certificates(ctx: ClaimContext):
    """完成规定的学时和内容，且取得培训合格证书和相应专业技术等级证书的人员.

    The claimant holds both a training certificate and a level certificate.
    """
    if ctx.training_certificate is None or ctx.level_certificate is None:
        return _("Both a training certificate and the matching level certificate are required.")
    if (
        ctx.training_certificate.trainee_id != ctx.trainee.pk
        or ctx.level_certificate.trainee_id != ctx.trainee.pk
    ):
        return _("The claimant does not hold the certificates the claim names.")
    return None


@rule(CERTIFICATE_MISMATCH)
def certificate_mismatch(ctx: ClaimContext):
    """取得培训合格证书和相应专业技术等级证书: the two certificates are for the same person,
    occupation and level."""
    training, level = ctx.require_certificates()
    if (
        training.trainee_id != level.trainee_id
        or training.occupation_id != level.occupation_id
        or training.level != level.level
    ):
        return _(
            "The training certificate and the level certificate name different trainees, "
            "occupations or levels."
        )
    return None


@rule(CERTIFICATE_ALREADY_USED)
def certificate_already_used(ctx: ClaimContext):
    """同一职业同一等级不可重复享受: a certificate backs at most one active claim."""
    training, level = ctx.require_certificates()
    if any(
        c["training_certificate_id"] == training.pk or c["level_certificate_id"] == level.pk
        for c in ctx.related_active_claims
    ):
        return ALREADY_USED_MESSAGE
    return None


@rule(INSTITUTION_NOT_LISTED)
def institution_not_listed(ctx: ClaimContext):
    """培训工作由纳入人力资源社会保障部培训机构目录的我省相关培训机构负责.

    The institution was listed (not suspended or removed) throughout the plan's dates, and
    the training ran under an accepted (备案) plan.
    """
    training, _level = ctx.require_certificates()
    plan = training.plan
    if plan.status != PlanStatus.ACCEPTED:
        return _("The training did not run under an accepted training plan.")
    listed = ctx.institution_listed
    if listed is None:
        listed = training.institution.listed_throughout(plan.start_date, plan.end_date)
    if not listed:
        return _(
            "The training institution was not on the catalogue, or was suspended, while the training ran."
        )
    return None


@rule(EVALUATOR_NOT_LISTED)
def evaluator_not_listed(ctx: ClaimContext):
    """由纳入人力资源社会保障部目录的相关评价机构负责: the level certificate was issued by a
    catalogued evaluation institution on its issue date."""
    level = ctx.require_level_certificate()
    status = ctx.evaluator_status
    if status is NOT_LOADED:
        status = level.evaluator.status_on(level.issued_on)
    if status != ListingStatus.LISTED:
        return _("The level certificate was not issued by a catalogued evaluation institution.")
    return None


@rule(BEFORE_POLICY_START)
def before_policy_start(ctx: ClaimContext):
    """本实施方案自2023年9月16日起施行: the level certificate was issued on or after the start."""
    level = ctx.require_level_certificate()
    if level.issued_on < ctx.settings.policy_start:
        return _("The level certificate was issued before the programme came into force (%(start)s).") % {
            "start": ctx.settings.policy_start.isoformat()
        }
    return None


@rule(ANNUAL_LIMIT)
def annual_limit(ctx: ClaimContext):
    """每人每年可享受不超过3次.

    Counts the person's active claims of the claim year in every city and the other
    vocational-training subsidies imported for the person, in the year of their grant date.
    """
    claims = sum(1 for c in ctx.other_active_claims if c["claim_year"] == ctx.year)
    external = ctx.external_subsidies
    limit = ctx.settings.annual_limit
    if claims + external >= limit:
        return _(
            "The trainee already has %(count)s training subsidies in %(year)s; at most %(limit)s a year."
        ) % {"count": claims + external, "year": ctx.year, "limit": limit}
    return None


@rule(DUPLICATE_OCCUPATION_LEVEL)
def duplicate_occupation_level(ctx: ClaimContext):
    """同一职业同一等级不可重复享受: one active claim per occupation and level, ever."""
    level = ctx.require_level_certificate()
    if any(
        c["occupation_id"] == level.occupation_id and c["level"] == level.level
        for c in ctx.other_active_claims
    ):
        return DUPLICATE_MESSAGE
    return None


@rule(LOWER_LEVEL_AFTER_HIGHER)
def lower_level_after_higher(ctx: ClaimContext):
    """Zhejiang's general training-subsidy practice (reference-data.md): after a subsidy for a
    higher level of an occupation, none for a lower level of it. A switch in the policy
    settings."""
    if not ctx.settings.lower_level_rule_enabled:
        return None
    level = ctx.require_level_certificate()
    rank = Level.rank(level.level)
    if any(
        c["occupation_id"] == level.occupation_id and Level.rank(c["level"]) > rank
        for c in ctx.other_active_claims
    ):
        return _("The trainee already has a claim for a higher level of this occupation.")
    return None


@rule(WRONG_BUREAU)
def wrong_bureau(ctx: ClaimContext):
    """可向户籍地、常住地、求职就业地人社保部门申领职业培训补贴，毕业年度毕业生向学校所在地人社保部门申领补贴.

    The bureau is a city bureau of Zhejiang at the household, residence or employment city;
    a graduate in the graduation year claims at the school's city instead.
    """
    if ctx.basis is not None:
        return None
    allowed = "、".join(
        f"{bureau.name}（{ClaimBasis(basis).label}）"
        for basis, bureau in allowed_bureaus(ctx.trainee, ctx.year)
    )
    if is_graduate_in_graduation_year(ctx.trainee, ctx.year):
        message = _("A graduate in the graduation year claims at the bureau of the school's city.")
    else:
        message = _(
            "Claim at the bureau of the household-registration, usual-residence or employment city in Zhejiang."
        )
    if not allowed:
        return _(
            "%(message)s No bureau in Zhejiang is on the trainee's record: correct the trainee's cities."
        ) % {"message": message}
    return _("%(message)s Bureaus the trainee may claim at: %(bureaus)s.") % {
        "message": message,
        "bureaus": allowed,
    }


def allowed_bureaus(trainee: Trainee, year: int) -> list[tuple[str, Bureau]]:
    """The city bureaus in Zhejiang where ``trainee`` may claim in ``year``, with the basis of each.

    One query, run only when ``wrong_bureau`` fails (and by pages that show the choice).
    """
    if is_graduate_in_graduation_year(trainee, year):
        wanted = [(ClaimBasis.SCHOOL, trainee.school_city_id)]
    else:
        wanted = [
            (ClaimBasis.HOUSEHOLD, trainee.household_city_id),
            (ClaimBasis.RESIDENCE, trainee.residence_city_id),
            (ClaimBasis.EMPLOYMENT, trainee.employment_city_id),
        ]
    city_ids = {city_id for _basis, city_id in wanted if city_id is not None}
    bureaus = {
        b.city_id: b
        for b in Bureau.objects.filter(
            kind=Bureau.Kind.CITY, city_id__in=city_ids, city__in_zhejiang=True
        ).select_related("city")
    }
    found, seen = [], set()
    for basis, city_id in wanted:
        bureau = bureaus.get(city_id)
        if bureau is not None and bureau.pk not in seen:
            seen.add(bureau.pk)
            found.append((basis, bureau))
    return found


@rule(NO_STANDARD)
def no_standard(ctx: ClaimContext):
    """公布各职业（工种）不同级次补贴标准: a standard is in force for the occupation and level on
    the level certificate's issue date."""
    ctx.require_level_certificate()
    if ctx.standard is None:
        return _(
            "No subsidy standard was in force for this occupation and level on the certificate's issue date."
        )
    return None


@rule(CLAIM_WINDOW_CLOSED)
def claim_window_closed(ctx: ClaimContext):
    """可按各市有关规定申领: claim within the city measure's N months (12 by default, the policy
    settings' window where the city has no measure) of the level certificate's issue date,
    the last day included."""
    level = ctx.require_level_certificate()
    months = ctx.claim_window_months
    last_day = claim_window_end(level.issued_on, months)
    if ctx.today > last_day:
        return _("The claim window closed on %(last_day)s (%(months)s months after the certificate).") % {
            "last_day": last_day.isoformat(),
            "months": months,
        }
    return None


def missing_document_requirements(ctx: ClaimContext) -> list:
    """The measure's requirements for the claim's basis that the documents do not meet."""
    if ctx.measure is None or ctx.basis is None:
        return []
    held = ctx.kinds_held
    return [r for r in ctx.measure.requirements.all() if r.basis == ctx.basis and not (r.kinds() & held)]


@rule(MISSING_DOCUMENTS)
def missing_documents(ctx: ClaimContext):
    """可按各市有关规定申领职业培训补贴: every supporting document the city's measure requires for
    the claim's basis is attached (for example a 居住证 to claim at the city of residence)."""
    missing = missing_document_requirements(ctx)
    if not missing:
        return None
    return _(
        "Under the city's own rules (%(measure)s), a claim at the %(basis)s needs: %(documents)s. "
        "Upload them and submit again."
    ) % {
        "measure": ctx.measure.title,
        "basis": ClaimBasis(ctx.basis).label,
        "documents": "、".join(str(r) for r in missing),
    }


@dataclass(frozen=True)
class Computation:
    """standard × share + uplift = amount (SPEC "Each city's supporting measures")."""

    standard: Decimal
    share_percent: Decimal
    uplift: Decimal
    amount: Decimal


def compute_amount(ctx: ClaimContext) -> Computation | None:
    """The claim's amount under the measure in force: the standard on the level certificate's
    issue date, times the share for the trainee's category, plus the uplift (capped) where
    the occupation is one the city lists as in short supply (紧缺职业)."""
    if ctx.standard is None or ctx.level_certificate is None:
        return None
    cent = Decimal("0.01")
    standard = ctx.standard.amount
    measure = ctx.measure
    if measure is None:
        return Computation(standard, Decimal(100), Decimal(0).quantize(cent), standard)
    share = Decimal(measure.share_for(ctx.trainee.category))
    uplift = Decimal(0)
    if any(o.pk == ctx.level_certificate.occupation_id for o in measure.shortage_occupations.all()):
        uplift = standard * Decimal(measure.shortage_uplift_percent) / 100
        if measure.shortage_uplift_cap is not None:
            uplift = min(uplift, Decimal(measure.shortage_uplift_cap))
    uplift = uplift.quantize(cent, rounding=ROUND_HALF_UP)
    amount = (standard * share / 100).quantize(cent, rounding=ROUND_HALF_UP) + uplift
    return Computation(standard, share, uplift, amount)


def run_rules(ctx: ClaimContext) -> list[RuleResult]:
    """Run every registered rule and return every result, in the order of SPEC.md's table."""
    results = []
    for code, fn in RULES.items():
        if not ctx.at_submission and code in SUBMISSION_ONLY:
            continue
        try:
            message = fn(ctx)
        except Skip:
            results.append(RuleResult(code=code, passed=False, skipped=True))
            continue
        results.append(RuleResult(code=code, passed=message is None, message=str(message or "")))
    return results


def failures(results: list[RuleResult]) -> list[RuleResult]:
    return [r for r in results if not r.passed and not r.skipped]


# -- what a check reads, in few round trips -----------------------------------------------------
#
# Fixed-shape lookups compiled once per process (core.prepared): the certificates with what
# the rules read about them (the plan, the institution's catalogue history over the plan's
# dates, the evaluator's status on the issue date, the standard in force, the other subsidies
# of the claim year), the bureau with its city and the policy settings, and the related claims.

_BIG = BigIntegerField()

_RELATED_ACTIVE_CLAIMS = PreparedQuery(
    lambda: (
        SubsidyClaim.objects.filter(
            Q(trainee_id=Param("trainee", _BIG))
            | Q(training_certificate_id=Param("training", _BIG))
            | Q(level_certificate_id=Param("level", _BIG)),
            status__in=[s.value for s in ACTIVE_CLAIM_STATUSES],
        )
        .exclude(pk=Param("claim", _BIG))
        .values(
            "id",
            "trainee_id",
            "occupation_id",
            "level",
            "claim_year",
            "training_certificate_id",
            "level_certificate_id",
        )
    )
)


def _external_subsidies():
    """Other subsidies of one person granted between two days (the claim year), counted."""
    return (
        ExternalSubsidyRecord.objects.filter(
            # The person by the blind index of their ID number (the number is stored encrypted).
            resident_id_index=Param(
                "resident_id_index", ExternalSubsidyRecord._meta.get_field("resident_id_index")
            ),
            grant_date__gte=Param("first_day", DateField()),
            grant_date__lte=Param("last_day", DateField()),
        )
        .order_by()
        .values("resident_id_index")
        .annotate(n=Count("id"))
        .values("n")
    )


_EXTERNAL_COUNT = PreparedQuery(_external_subsidies)


def _training_certificate():
    listings = InstitutionListing.objects.filter(institution_id=OuterRef("institution_id"))
    return (
        TrainingCertificate.objects.filter(pk=Param("pk", _BIG))
        .annotate(
            # ``TrainingInstitution.listed_throughout(plan.start_date, plan.end_date)`` in SQL: the
            # status in force on the start date is "listed", and no change away from listed
            # takes effect after the start and on or before the end.
            status_on_start=Subquery(
                listings.filter(effective_from__lte=OuterRef("plan__start_date"))
                .order_by("-effective_from", "-id")
                .values("status")[:1]
            ),
            unlisted_during=Exists(
                listings.filter(
                    effective_from__gt=OuterRef("plan__start_date"),
                    effective_from__lte=OuterRef("plan__end_date"),
                ).exclude(status=ListingStatus.LISTED)
            ),
        )
        .values(
            *model_columns(TrainingCertificate),
            *model_columns(TrainingPlan, "plan__"),
            *model_columns(TrainingInstitution, "institution__"),
            "status_on_start",
            "unlisted_during",
        )
    )


_TRAINING_CERTIFICATE = PreparedQuery(_training_certificate)


def _level_certificate():
    standards = SubsidyStandard.objects.filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=OuterRef("issued_on")),
        occupation_id=OuterRef("occupation_id"),
        level=OuterRef("level"),
        effective_from__lte=OuterRef("issued_on"),
    ).order_by("effective_from", "id")  # as SubsidyStandard.in_force (periods never overlap)
    return (
        LevelCertificate.objects.filter(pk=Param("pk", _BIG))
        .annotate(
            # ``evaluator.status_on(issued_on)``
            evaluator_status=Subquery(
                EvaluatorListing.objects.filter(
                    evaluator_id=OuterRef("evaluator_id"), effective_from__lte=OuterRef("issued_on")
                )
                .order_by("-effective_from", "-id")
                .values("status")[:1]
            ),
            standard_id=Subquery(standards.values("id")[:1]),
            standard_amount=Subquery(standards.values("amount")[:1]),
            external_subsidies=Subquery(_external_subsidies()),
        )
        .values(
            *model_columns(LevelCertificate),
            *model_columns(EvaluationInstitution, "evaluator__"),
            *model_columns(Occupation, "occupation__"),
            "evaluator_status",
            "standard_id",
            "standard_amount",
            "external_subsidies",
        )
    )


_LEVEL_CERTIFICATE = PreparedQuery(_level_certificate)
_STANDARD_PLACES = Decimal(1).scaleb(-SubsidyStandard._meta.get_field("amount").decimal_places)

_POLICY_FIELDS = (
    "annual_limit",
    "claim_window_months",
    "lower_level_rule_enabled",
    "policy_start",
    "updated_at",
)


def _policy_subqueries() -> dict:
    return {
        f"policy__{name}": Subquery(PolicySettings.objects.filter(pk=1).values(name)[:1])
        for name in _POLICY_FIELDS
    }


_BUREAU = PreparedQuery(
    lambda: (
        Bureau.objects.filter(pk=Param("pk", _BIG))
        .annotate(
            **_policy_subqueries(),
            # ``CityMeasure.in_force(city_id=bureau.city_id, on=today)``, its id
            measure_id=Subquery(
                CityMeasure.objects.filter(
                    city_id=OuterRef("city_id"), effective_from__lte=Param("today", DateField())
                )
                .order_by("-effective_from")
                .values("id")[:1]
            ),
        )
        .values(
            *model_columns(Bureau),
            *model_columns(City, "city__"),
            *(f"policy__{n}" for n in _POLICY_FIELDS),
            "measure_id",
        )
    )
)
_POLICY = PreparedQuery(lambda: PolicySettings.objects.filter(pk=1).values(*model_columns(PolicySettings)))

# A measure with its occupations in short supply and its required documents: every claim
# submission reads them, and compiling the three queries (with Django's prefetching) took a
# quarter of a submission's time. Compiled once per process instead.
_MEASURE = PreparedObjects(lambda: CityMeasure.objects.filter(pk=Param("pk", _BIG)))
_MEASURE_SHORTAGES = PreparedObjects(
    lambda: (
        CityMeasure.shortage_occupations.through.objects.filter(citymeasure_id=Param("measure", _BIG))
        .select_related("occupation")
        # Occupation's own order (what the prefetch uses), read through the link table.
        .order_by(
            *(
                f"-occupation__{name[1:]}" if name.startswith("-") else f"occupation__{name}"
                for name in Occupation._meta.ordering
            )
        )
    )
)
_MEASURE_REQUIREMENTS = PreparedObjects(
    lambda: DocumentRequirement.objects.filter(measure_id=Param("measure", _BIG))
)


def measure_with_lists(pk: int) -> CityMeasure:
    """``CityMeasure.objects.prefetch_related("shortage_occupations", "requirements").get(pk=pk)``,
    compiled once: the two lists are read as the prefetch would have read them (in their
    models' order) and left where it leaves them, so ``measure.requirements.all()`` asks
    nothing more of the database."""
    measure = _MEASURE.first(pk=pk)
    if measure is None:
        raise CityMeasure.DoesNotExist(pk)
    lists = {
        "shortage_occupations": [row.occupation for row in _MEASURE_SHORTAGES.objects(measure=pk)],
        "requirements": _MEASURE_REQUIREMENTS.objects(measure=pk),
    }
    measure._prefetched_objects_cache = {}
    for name, rows in lists.items():
        queryset = getattr(measure, name).all()
        queryset._result_cache = rows
        queryset._prefetch_done = True
        measure._prefetched_objects_cache[name] = queryset
    return measure


def _policy_from(row: dict | None, prefix: str) -> PolicySettings:
    if row is None or row[f"{prefix}annual_limit"] is None:
        return PolicySettings.current()  # not created yet: created with the defaults
    return PolicySettings.from_db(
        "default",
        ["id", *_POLICY_FIELDS],
        [1, *(row[f"{prefix}{name}"] for name in _POLICY_FIELDS)],
    )


def load_bureau_and_settings(
    bureau: Bureau | None, *, today: datetime.date
) -> tuple[Bureau | None, PolicySettings, int | None]:
    """In one query: the bureau with its city (unless the caller's already has it), the policy
    settings and the id of the city's measure in force on ``today`` (None: none)."""
    if bureau is None:
        return None, _policy_from(_POLICY.first(), ""), None
    row = _BUREAU.first(pk=bureau.pk, today=today)
    if row is None:
        raise Bureau.DoesNotExist
    if not Bureau._meta.get_field("city").is_cached(bureau):
        bureau = instance_from(Bureau, row)
        bureau.city = instance_from(City, row, prefix="city__")
    return bureau, _policy_from(row, "policy__"), row["measure_id"]


def load_training_certificate(pk: int) -> tuple[TrainingCertificate, bool]:
    """The certificate with its plan and institution, and whether the institution was listed
    throughout the plan's dates."""
    row = _TRAINING_CERTIFICATE.first(pk=pk)
    if row is None:
        raise TrainingCertificate.DoesNotExist
    certificate = instance_from(TrainingCertificate, row)
    certificate.plan = instance_from(TrainingPlan, row, prefix="plan__")
    certificate.institution = instance_from(TrainingInstitution, row, prefix="institution__")
    listed = row["status_on_start"] == ListingStatus.LISTED and not row["unlisted_during"]
    return certificate, listed


def load_level_certificate(
    pk: int, *, resident_id_index: str | None, year: int
) -> tuple[LevelCertificate, str | None, SubsidyStandard | None, int]:
    """The certificate with its evaluator and occupation; the evaluator's status on the issue
    date, the standard in force on it, and the person's other subsidies of ``year``."""
    row = _LEVEL_CERTIFICATE.first(
        pk=pk,
        resident_id_index=resident_id_index,
        first_day=datetime.date(year, 1, 1),
        last_day=datetime.date(year, 12, 31),
    )
    if row is None:
        raise LevelCertificate.DoesNotExist
    certificate = instance_from(LevelCertificate, row)
    certificate.evaluator = instance_from(EvaluationInstitution, row, prefix="evaluator__")
    certificate.occupation = instance_from(Occupation, row, prefix="occupation__")
    standard = None
    if row["standard_id"] is not None:
        # Only what a claim records of it; any other field loads on first access. The amount
        # comes through a subquery, which SQLite answers as a float that Django does not
        # round to the column's places (a column it does): 2200, not 2200.00, on the page.
        amount = row["standard_amount"].quantize(_STANDARD_PLACES)
        standard = SubsidyStandard.from_db(
            "default",
            ["id", "occupation_id", "level", "amount"],
            [row["standard_id"], certificate.occupation_id, certificate.level, amount],
        )
    return certificate, row["evaluator_status"], standard, row["external_subsidies"] or 0
