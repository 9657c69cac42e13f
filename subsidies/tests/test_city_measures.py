"""各市配套措施: each city's measure sets the window, the share, the uplift; the claim keeps its
measure and computation."""

import datetime
from decimal import Decimal

import pytest

from core.errors import ApplicationError, NotPermitted
from reference.models import City
from subsidies.models import CityMeasure, SubsidyClaim
from subsidies.services import measure_save
from subsidies.tests.helpers import failed_codes, freeze, occupation
from trainees.models import TraineeCategory
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db


def measure(city, *, effective_from=datetime.date(2024, 1, 1), shortage=(), **fields):
    m = CityMeasure.objects.create(
        city=city, effective_from=effective_from, title=f"{city.name}配套措施", **fields
    )
    m.shortage_occupations.set(shortage)
    return m


def test_without_a_measure_the_claim_is_the_provincial_standard(trainee, certify, submit, today):
    claim = submit(trainee, *certify(trainee))
    assert claim.measure is None
    assert (claim.standard_amount, claim.share_percent, claim.uplift_amount, claim.amount) == (
        Decimal("2200.00"),
        Decimal("100"),
        Decimal("0.00"),
        Decimal("2200.00"),
    )
    assert claim.computation == "2200.00 × 100% + 0.00 = 2200.00"


def test_two_cities_measures_give_two_amounts(
    trainee, certify, submit, today, hangzhou, ningbo, ningbo_bureau
):
    hz = measure(
        hangzhou,
        share_professional=Decimal("80"),
        shortage_uplift_percent=Decimal("30"),
        shortage_uplift_cap=Decimal("500"),
        shortage=[occupation(0)],
    )
    nb = measure(ningbo, share_professional=Decimal("90"), share_freelancer=Decimal("50"))
    hz_claim = submit(trainee, *certify(trainee))
    # 2200 x 80% = 1760, uplift 30% = 660 capped at 500.
    assert (hz_claim.measure, hz_claim.amount, hz_claim.uplift_amount) == (
        hz,
        Decimal("2260.00"),
        Decimal("500.00"),
    )
    assert hz_claim.computation == "2200.00 × 80% + 500.00 = 2260.00"

    freelancer = TraineeFactory(household_city=ningbo, category=TraineeCategory.FREELANCER)
    nb_claim = submit(freelancer, *certify(freelancer, occupation_index=1), bureau=ningbo_bureau)
    assert (nb_claim.measure, nb_claim.share_percent, nb_claim.amount) == (
        nb,
        Decimal("50"),
        Decimal("1100.00"),
    )


def test_a_measure_changed_between_two_submissions_leaves_each_claim_its_own(
    trainee, certify, submit, hangzhou
):
    first_measure = measure(hangzhou, share_professional=Decimal("80"))
    later_measure = measure(
        hangzhou, effective_from=datetime.date(2025, 3, 15), share_professional=Decimal("60")
    )
    with freeze(datetime.date(2025, 3, 14)):
        first = submit(trainee, *certify(trainee))
    with freeze(datetime.date(2025, 3, 15)):
        second = submit(trainee, *certify(trainee, occupation_index=1))
    first = SubsidyClaim.objects.get(pk=first.pk)
    assert (first.measure, first.amount) == (first_measure, Decimal("1760.00"))
    assert (second.measure, second.amount) == (later_measure, Decimal("1320.00"))


def test_the_claim_window_is_the_citys(trainee, certify, submit, hangzhou, ningbo_bureau, ningbo):
    measure(ningbo, claim_window_months=6)
    trainee.employment_city = ningbo
    trainee.save()
    with freeze(datetime.date(2025, 3, 10)):
        training, level = certify(trainee, issued_on=datetime.date(2024, 8, 1))
        with pytest.raises(ApplicationError) as exc:
            submit(trainee, training, level, bureau=ningbo_bureau)
        assert failed_codes(exc) == ["claim_window_closed"]
        assert "2025-02-01" in exc.value.detail["rules"][0]["message"]
        # Hangzhou keeps the default twelve months.
        assert submit(trainee, training, level).measure is None


def test_a_measure_in_force_is_never_changed_and_only_the_city_or_province_sets_it(
    hangzhou, hangzhou_reviewer, ningbo_reviewer, provincial_staff
):
    with freeze(datetime.date(2025, 3, 10)):
        future = CityMeasure(
            city=hangzhou, effective_from=datetime.date(2025, 4, 1), title="杭人社发〔2025〕1号"
        )
        with pytest.raises(NotPermitted):
            measure_save(measure=future, actor=ningbo_reviewer)
        measure_save(measure=future, actor=hangzhou_reviewer)
        assert future.created_by == hangzhou_reviewer
        future.share_graduate = Decimal("70")
        measure_save(measure=future, actor=provincial_staff)  # not yet in force: may change

        backdated = CityMeasure(city=hangzhou, effective_from=datetime.date(2025, 3, 1), title="补发")
        with pytest.raises(ApplicationError) as exc:
            measure_save(measure=backdated, actor=provincial_staff)
        assert exc.value.code == "measure_backdated"

    with freeze(datetime.date(2025, 4, 2)):
        future.share_graduate = Decimal("10")
        with pytest.raises(ApplicationError) as exc:
            measure_save(measure=future, actor=provincial_staff)
        assert exc.value.code == "measure_in_force"
    assert CityMeasure.objects.get(pk=future.pk).share_graduate == Decimal("70")
    assert City.objects.get(pk=hangzhou.pk).measures.count() == 1


def test_a_measure_is_read_with_its_lists_as_the_orms_prefetch_reads_it(hangzhou):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reference.tests.factories import OccupationFactory
    from subsidies.models import ClaimBasis, DocumentKind, DocumentRequirement
    from subsidies.rules import measure_with_lists

    shortage = [
        OccupationFactory(name=name, code_2022=code)
        for name, code in (("云计算工程技术人员", "2-02-38-02"), ("区块链工程技术人员", "2-02-38-09"))
    ]
    m = measure(hangzhou, shortage=[*shortage, occupation()], shortage_uplift_percent=Decimal("10"))
    other = measure(hangzhou, effective_from=datetime.date(2025, 1, 1), shortage=shortage[:1])
    for basis, kind in (
        (ClaimBasis.RESIDENCE, DocumentKind.RESIDENCE_PERMIT),
        (ClaimBasis.EMPLOYMENT, DocumentKind.LABOUR_CONTRACT),
        (ClaimBasis.RESIDENCE, DocumentKind.LABOUR_CONTRACT),
    ):
        DocumentRequirement.objects.create(measure=m, basis=basis, kind=kind)
    DocumentRequirement.objects.create(
        measure=other, basis=ClaimBasis.RESIDENCE, kind=DocumentKind.RESIDENCE_PERMIT
    )

    orm = CityMeasure.objects.prefetch_related("shortage_occupations", "requirements").get(pk=m.pk)
    mine = measure_with_lists(m.pk)
    assert [(f.attname, getattr(mine, f.attname)) for f in CityMeasure._meta.concrete_fields] == [
        (f.attname, getattr(orm, f.attname)) for f in CityMeasure._meta.concrete_fields
    ]
    with CaptureQueriesContext(connection) as captured:
        assert [o.pk for o in mine.shortage_occupations.all()] == [
            o.pk for o in orm.shortage_occupations.all()
        ]
        assert [(r.pk, r.basis, r.kind) for r in mine.requirements.all()] == [
            (r.pk, r.basis, r.kind) for r in orm.requirements.all()
        ]
    assert len(captured) == 0
    assert len(mine.requirements.all()) == 3
    assert len(mine.shortage_occupations.all()) == 3
    with pytest.raises(CityMeasure.DoesNotExist):
        measure_with_lists(other.pk + 1000)
