"""Reads of the trainee service, built on the owning apps' selectors (never a second scoping)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from certificates.models import LevelCertificate, TrainingCertificate
from institutions.models import TrainingPlan
from institutions.selectors import public_plans
from reference.models import Bureau, Level, Occupation
from subsidies.models import (
    ACTIVE_CLAIM_STATUSES,
    ClaimBasis,
    ExternalSubsidyRecord,
    PolicySettings,
    SubsidyClaim,
    SubsidyStandard,
)
from subsidies.rules import claim_basis
from trainees.models import Trainee
from trainees.selectors import plans_with_places_left


def plans_for_notice(
    *,
    q: str = "",
    city=None,
    occupation=None,
    level: str = "",
    start_month: datetime.date | None = None,
    institution=None,
    open_only: bool = False,
) -> QuerySet[TrainingPlan]:
    """培训公告: accepted plans with places left, filtered as the visitor asked; ``open_only``
    keeps the classes still taking applications (not ended, a place left)."""
    qs = plans_with_places_left(public_plans())
    if open_only:
        qs = qs.filter(end_date__gte=timezone.localdate(), places_left__gt=0)
    if q:
        qs = qs.filter(
            Q(title__icontains=q) | Q(institution__name__icontains=q) | Q(occupation__name__icontains=q)
        )
    if city is not None:
        qs = qs.filter(institution__city=city)
    if occupation is not None:
        qs = qs.filter(occupation=occupation)
    if level:
        qs = qs.filter(level=level)
    if start_month is not None:
        qs = qs.filter(start_date__year=start_month.year, start_date__month=start_month.month)
    if institution is not None:
        qs = qs.filter(institution=institution)
    return qs


def plan_for_notice(pk: int) -> TrainingPlan:
    return plans_with_places_left(public_plans()).get(pk=pk)


@dataclass(frozen=True)
class StandardRow:
    occupation: Occupation
    cells: list[SubsidyStandard | None]  # one per level, in Level order


def standards_in_force(on: datetime.date | None = None) -> list[StandardRow]:
    """The subsidy standards in force on ``on`` (today), as occupation × level."""
    on = on or timezone.localdate()
    in_force = SubsidyStandard.objects.filter(effective_from__lte=on).filter(
        Q(effective_to__isnull=True) | Q(effective_to__gte=on)
    )
    by_key = {(s.occupation_id, s.level): s for s in in_force}
    return [
        StandardRow(
            occupation=occupation, cells=[by_key.get((occupation.pk, level)) for level in Level.values]
        )
        for occupation in Occupation.objects.all()
    ]


@dataclass(frozen=True)
class LookupResult:
    kind: str  # "training" or "level"
    masked_name: str
    occupation: str
    level: str
    issued_on: datetime.date


def mask_name(name: str) -> str:
    """王小明 -> 王**: the surname only, as a certificate check needs no more."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def certificate_lookup(*, number: str, name: str) -> LookupResult | None:
    """证书查询: a certificate with this number whose holder has this name, or None (the
    same answer for a wrong number and a wrong name)."""
    number, name = (number or "").strip(), " ".join((name or "").split())
    if not number or not name:
        return None
    for kind, model in (("level", LevelCertificate), ("training", TrainingCertificate)):
        cert = model.objects.select_related("trainee", "occupation").filter(number=number).first()
        if cert is not None and cert.trainee.name == name:
            return LookupResult(
                kind=kind,
                masked_name=mask_name(cert.trainee.name),
                occupation=cert.occupation.name,
                level=cert.get_level_display(),
                issued_on=cert.issued_on,
            )
    return None


def matching_training_certificate(level_certificate: LevelCertificate) -> TrainingCertificate | None:
    """The training certificate a level certificate goes with: the one its level test was
    sat on, else the holder's latest for the same occupation and level."""
    assessment = level_certificate.assessment
    if assessment is not None:
        return assessment.training_certificate
    return (
        TrainingCertificate.objects.filter(
            trainee_id=level_certificate.trainee_id,
            occupation_id=level_certificate.occupation_id,
            level=level_certificate.level,
        )
        .order_by("-issued_on", "-id")
        .first()
    )


@dataclass(frozen=True)
class AllowedBureau:
    bureau: Bureau
    basis: str

    @property
    def basis_label(self) -> str:
        return ClaimBasis(self.basis).label


def bureaus_for_claim(trainee: Trainee, year: int | None = None) -> list[AllowedBureau]:
    """The bureaus the trainee may claim at this year, each with its basis, judged by the
    same ``claim_basis`` the ``wrong_bureau`` rule uses."""
    year = year or timezone.localdate().year
    city_ids = [
        c
        for c in (
            trainee.household_city_id,
            trainee.residence_city_id,
            trainee.employment_city_id,
            trainee.school_city_id,
        )
        if c is not None
    ]
    allowed: list[AllowedBureau] = []
    for bureau in Bureau.objects.select_related("city").filter(city_id__in=city_ids, kind=Bureau.Kind.CITY):
        basis = claim_basis(trainee=trainee, bureau=bureau, year=year)
        if basis is not None:
            allowed.append(AllowedBureau(bureau=bureau, basis=basis))
    order = {value: i for i, value in enumerate(ClaimBasis.values)}
    return sorted(allowed, key=lambda a: order[a.basis])


@dataclass(frozen=True)
class YearUse:
    year: int
    claims: int
    other_subsidies: int
    limit: int

    @property
    def used(self) -> int:
        return self.claims + self.other_subsidies


def subsidies_used(trainee: Trainee, year: int | None = None) -> YearUse:
    """Claims used this year toward the annual limit (每人每年可享受不超过3次), as the
    ``annual_limit`` rule counts them: active claims of the year and imported subsidies
    granted in it."""
    year = year or timezone.localdate().year
    claims = SubsidyClaim.objects.filter(
        trainee=trainee, claim_year=year, status__in=[s.value for s in ACTIVE_CLAIM_STATUSES]
    ).count()
    other = ExternalSubsidyRecord.objects.filter(
        resident_id_index=trainee.resident_id_index, grant_date__year=year
    ).count()
    return YearUse(
        year=year, claims=claims, other_subsidies=other, limit=PolicySettings.current().annual_limit
    )
