import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from certificates.tests.factories import LevelCertificateFactory
from reference.models import Level
from reference.tests.factories import OccupationFactory
from subsidies.models import (
    POLICY_START,
    ClaimBasis,
    ClaimStatus,
    ExternalSubsidyRecord,
    SubsidyClaim,
    SubsidyStandard,
)

DEMO_AMOUNTS = {
    Level.JUNIOR: Decimal("2200"),
    Level.INTERMEDIATE: Decimal("3700"),
    Level.SENIOR: Decimal("5200"),
}


class SubsidyStandardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubsidyStandard
        django_get_or_create = ("occupation", "level", "effective_from")

    occupation = factory.SubFactory(OccupationFactory)
    level = Level.JUNIOR
    amount = factory.LazyAttribute(lambda o: DEMO_AMOUNTS[o.level])
    effective_from = POLICY_START
    effective_to = None
    is_demonstration = True


class SubsidyClaimFactory(factory.django.DjangoModelFactory):
    """A claim row written directly, bypassing the rules: for fixtures of *existing* history.

    Tests of the rules themselves must go through ``subsidies.services.claim_submit``.
    """

    class Meta:
        model = SubsidyClaim

    level_certificate = factory.SubFactory(LevelCertificateFactory)
    training_certificate = factory.SelfAttribute("level_certificate.assessment.training_certificate")
    trainee = factory.SelfAttribute("level_certificate.trainee")
    occupation = factory.SelfAttribute("level_certificate.occupation")
    level = factory.SelfAttribute("level_certificate.level")
    bureau = factory.LazyAttribute(lambda o: o.trainee.household_city.bureau)
    basis = ClaimBasis.HOUSEHOLD
    standard = factory.LazyAttribute(lambda o: SubsidyStandardFactory(occupation=o.occupation, level=o.level))
    amount = factory.SelfAttribute("standard.amount")
    status = ClaimStatus.SUBMITTED
    submitted_at = factory.LazyFunction(timezone.now)
    claim_year = factory.LazyAttribute(lambda o: timezone.localtime(o.submitted_at).year)
    decided_at = factory.LazyAttribute(
        lambda o: None if o.status in (ClaimStatus.SUBMITTED, ClaimStatus.WITHDRAWN) else o.submitted_at
    )
    reject_reason = factory.LazyAttribute(lambda o: "材料不全" if o.status == ClaimStatus.REJECTED else "")
    paid_on = factory.LazyAttribute(
        lambda o: timezone.localdate(o.submitted_at) if o.status == ClaimStatus.PAID else None
    )
    paid_amount = factory.LazyAttribute(lambda o: o.amount if o.status == ClaimStatus.PAID else None)
    voucher_number = factory.LazyAttribute(
        lambda o: f"PZ{o.level_certificate.number}" if o.status == ClaimStatus.PAID else ""
    )


class ExternalSubsidyRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalSubsidyRecord

    resident_id = "11010519491231002X"
    name = "张三"
    kind = "技能提升补贴"
    grant_date = datetime.date(2024, 6, 1)
    amount = Decimal("1500")
