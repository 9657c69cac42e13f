"""The demo data of ``make run``: one load per module (rolled back at the end), then checks
that it has what the README promises and obeys the rules of SPEC.md."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib import admin
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse

from accounts.models import ROLE_GROUPS, Role, User
from demo.loader import DEMO_LOGINS, DEMO_PASSWORD, DEMO_STANDARD_SOURCE, EXTRA_LOGINS, demo_summary
from institutions.models import ListingStatus, PlanStatus, TrainingInstitution, TrainingPlan
from reference.models import Level, Occupation
from subsidies import rules
from subsidies.models import ClaimStatus, SubsidyClaim, SubsidyStandard
from subsidies.services import claim_check
from trainees.models import Trainee


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    # The suite's fast hasher (conftest.py) applies: the demo's passwords are hashed on load.
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", "--if-empty", stdout=open("/dev/null", "w"))  # noqa: SIM115
        yield demo_summary()
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


EXPECTED_ROLES = {
    "admin": None,
    "province": Role.PROVINCIAL,
    "hz_reviewer": Role.BUREAU,
    "nb_reviewer": Role.BUREAU,
    "hdu_clerk": Role.INSTITUTION,
    "school_clerk": Role.INSTITUTION,
    "eval_clerk": Role.EVALUATOR,
    "trainee": Role.TRAINEE,
}


def test_every_documented_login_works_with_the_demo_password_and_has_its_role(demo):
    assert [u for u, _ in DEMO_LOGINS] == list(EXPECTED_ROLES)
    for username, _label in DEMO_LOGINS + EXTRA_LOGINS:
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        expected = EXPECTED_ROLES.get(username, user.role)
        if expected is None:
            assert user.is_superuser
            continue
        assert user.role == expected
        assert list(user.groups.values_list("name", flat=True)) == [ROLE_GROUPS[Role(user.role)]]


def test_the_demo_logins_belong_to_the_right_organisations(demo):
    users = {u.username: u for u in User.objects.select_related("bureau__city", "institution", "evaluator")}
    assert users["province"].bureau.is_province
    assert users["hz_reviewer"].bureau.city.name == "杭州市"
    assert users["nb_reviewer"].bureau.city.name == "宁波市"
    assert users["hdu_clerk"].institution.name == "杭州电子科技大学"
    assert users["school_clerk"].institution.city.name == "杭州市"
    assert users["eval_clerk"].evaluator is not None
    assert users["trainee"].trainee.household_city.name == "杭州市"


def test_serve_script_and_readme_list_the_same_logins(demo):
    from django.conf import settings

    serve = (settings.BASE_DIR / "scripts" / "serve.sh").read_text(encoding="utf-8")
    readme = (settings.BASE_DIR / "README.md").read_text(encoding="utf-8")
    for username, _label in DEMO_LOGINS:
        assert f"    {username} " in serve, username
        assert f"`{username}`" in readme, username
    assert DEMO_PASSWORD in serve and DEMO_PASSWORD in readme


def test_demo_standards_cover_every_occupation_and_level_and_say_they_are_demonstration(demo):
    standards = SubsidyStandard.objects.all()
    assert standards.count() == Occupation.objects.count() * 3 == 30
    assert all(s.is_demonstration and s.source == DEMO_STANDARD_SOURCE for s in standards)
    amounts = {(s.level, int(s.amount)) for s in standards}
    assert amounts == {(Level.JUNIOR, 2200), (Level.INTERMEDIATE, 3700), (Level.SENIOR, 5200)}


def test_institutions_in_three_cities_including_hdu_filing_with_the_province(demo):
    institutions = TrainingInstitution.objects.select_related("city")
    assert len({i.city_id for i in institutions}) >= 3
    hdu = institutions.get(name="杭州电子科技大学")
    assert hdu.is_provincial_university and hdu.filing_authority().is_province
    assert all(i.listings.exists() for i in institutions)
    suspended = institutions.filter(status=ListingStatus.SUSPENDED)
    assert [i.listings.last().status for i in suspended] == [ListingStatus.SUSPENDED] * suspended.count()
    assert TrainingPlan.objects.filter(institution=hdu, status=PlanStatus.ACCEPTED).exists()
    assert set(TrainingPlan.objects.values_list("status", flat=True)) == set(PlanStatus.values)


def test_about_fifty_trainees_with_a_retired_district_code_and_an_x_check_character(demo):
    # Not counting the risk demo's full-pass class (risk/demo.py), which exists to show the
    # pass-rate signal.
    ids = list(Trainee.objects.exclude(name__startswith="定制班学员").values_list("resident_id", flat=True))
    assert 45 <= len(ids) <= 60
    assert any(i.endswith("X") for i in ids)
    assert any(i.startswith("330103") for i in ids)
    assert len({i[:6] for i in ids}) >= 10  # varied area codes


def test_claims_in_every_state_at_both_the_hangzhou_and_ningbo_bureaus(demo):
    seen = Counter(SubsidyClaim.objects.values_list("bureau__city__name", "status"))
    for city in ("杭州市", "宁波市"):
        for status in ClaimStatus.values:
            assert seen[(city, status)] > 0, (city, status)


def test_every_claim_has_its_history_from_submission_to_its_state(demo):
    for claim in SubsidyClaim.objects.prefetch_related("events"):
        events = list(claim.events.all())
        assert events[0].from_status == "" and events[0].to_status == ClaimStatus.SUBMITTED
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_status == before.to_status
        assert events[-1].to_status == claim.status
        if claim.status == ClaimStatus.REJECTED:
            assert events[-1].reason == claim.reject_reason != ""


def test_every_active_claim_still_passes_every_rule(demo):
    for claim in SubsidyClaim.objects.filter(status__in=[ClaimStatus.SUBMITTED, ClaimStatus.APPROVED]):
        results = claim_check(
            trainee=claim.trainee,
            training_certificate=claim.training_certificate,
            level_certificate=claim.level_certificate,
            bureau=claim.bureau,
            claim=claim,
        )
        assert rules.failures(results) == [], (claim.pk, rules.failures(results))


def test_the_trainee_login_can_see_a_claim_it_may_still_withdraw(demo):
    trainee = User.objects.get(username="trainee").trainee
    statuses = set(trainee.claims.values_list("status", flat=True))
    assert {ClaimStatus.PAID, ClaimStatus.SUBMITTED, ClaimStatus.WITHDRAWN} <= statuses


def test_a_second_load_is_refused_and_if_empty_changes_nothing(demo):
    before = demo_summary()
    call_command("load_demo", "--if-empty", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with pytest.raises(CommandError, match="--if-empty"):
        call_command("load_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert demo_summary() == before == demo


def test_every_admin_page_opens_on_the_demo_data_in_chinese(demo, client_of):
    client = client_of(User.objects.get(username="admin"))
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert 'lang="zh-hans"' in index.content.decode()
    failures = []
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        # follow: a singleton (policy settings) redirects its list to its one change page.
        response = client.get(reverse("admin:{}_{}_changelist".format(*info)), follow=True)
        if response.status_code != 200:
            failures.append((model._meta.label, "changelist", response.status_code))
            continue
        first = model_admin.get_queryset(response.wsgi_request).first()
        if first is not None:
            page = client.get(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
            if page.status_code != 200:
                failures.append((model._meta.label, "change", page.status_code))
    assert failures == []


@pytest.mark.parametrize("username", ["province", "hz_reviewer", "nb_reviewer", "hdu_clerk", "eval_clerk"])
def test_each_staff_role_opens_the_admin_pages_it_has_permission_for(demo, client_of, username):
    user = User.objects.get(username=username)
    client = client_of(user)
    assert client.get(reverse("admin:index")).status_code == 200
    failures = []
    for model in admin.site._registry:
        opts = model._meta
        if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
            continue
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), follow=True)
        if response.status_code != 200:
            failures.append((opts.label, response.status_code))
    assert failures == []


def test_the_demo_shows_payment_batches_risk_signals_and_a_spot_check(demo):
    from payments.models import BatchStatus, PaymentBatch
    from risk.models import RiskSignal, SignalCode, SpotCheck

    batches = PaymentBatch.objects.all()
    assert {b.status for b in batches} >= {BatchStatus.EXPORTED, BatchStatus.RECONCILED}
    assert batches.get(status=BatchStatus.RECONCILED).failed_count == 1
    found = set(RiskSignal.objects.filter(is_current=True).values_list("code", flat=True))
    assert {
        SignalCode.SHARED_PAYEE_ACCOUNT,
        SignalCode.INSTITUTION_PASS_RATE,
        SignalCode.SHARED_PHONE,
    } <= found
    outcomes = set(SpotCheck.objects.get().items.values_list("outcome", flat=True))
    assert {"passed", "failed"} <= outcomes
