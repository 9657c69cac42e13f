"""My record, the claim wizard, claim pages and the inbox."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Message, Role
from accounts.tests.factories import UserFactory
from portal import wizard
from subsidies.models import ClaimEvent, ClaimStatus, SubsidyClaim
from subsidies.services import claim_approve, claim_submit
from subsidies.tests.factories import ExternalSubsidyRecordFactory
from tests.browser.builders import certified
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db

PAYEE = {
    "kind": "bank",
    "bank_name": "中国工商银行杭州分行",
    "account": "6222 0212 3456 7890 123",
    "own_name": "on",
}


def walk_to_confirm(client, level):
    """Certificate -> check -> payee, as the trainee clicks through."""
    assert (
        client.post("/me/claim/certificate/", {"level_certificate": level.pk})["Location"]
        == "/me/claim/check/"
    )
    assert client.post("/me/claim/check/", {"continue": "1"})["Location"] == "/me/claim/payee/"
    assert client.post("/me/claim/payee/", PAYEE)["Location"] == "/me/claim/confirm/"


def test_the_wizard_steps_are_declared_in_order():
    assert [s.name for s in wizard.STEPS] == ["certificate", "check", "documents", "payee", "confirm"]
    # The documents step belongs to a claim's wizard only when its city asks for documents.
    assert [s.name for s in wizard.steps_for({})] == ["certificate", "check", "payee", "confirm"]
    assert "documents" in [s.name for s in wizard.steps_for({"documents_required": True})]


def test_a_step_not_yet_reached_or_not_needed_sends_back_to_the_first_unfinished():
    documents, payee = wizard.step_named("documents"), wizard.step_named("payee")
    checked = {"level_certificate": 1, "bureau": 2, "checked": True}
    assert wizard.first_missing(checked, documents).name == "payee"  # no documents asked
    asked = {**checked, "documents_required": True}
    assert wizard.first_missing(asked, payee).name == "documents"
    assert wizard.first_missing({**asked, "documents": True}, payee).name == "payee"
    assert wizard.next_step("check", asked).name == "documents"
    assert wizard.next_step("check", checked).name == "payee"


def test_a_step_cannot_be_skipped(trainee_client, certificates):
    assert trainee_client.get("/me/claim/confirm/")["Location"] == "/me/claim/certificate/"
    assert trainee_client.get("/me/claim/nowhere/").status_code == 404


def test_a_claim_that_passes_end_to_end(trainee_client, trainee, certificates, hangzhou_bureau):
    training, level = certificates
    walk_to_confirm(trainee_client, level)
    assert trainee_client.get("/me/claim/check/").status_code == 200  # going back shows the check again
    page = trainee_client.get("/me/claim/confirm/").content.decode()
    assert "6222*" in page and "6222021234567890123" not in page  # masked once saved
    response = trainee_client.post("/me/claim/confirm/", {"level_certificate": level.pk})
    claim = SubsidyClaim.objects.get()
    assert response["Location"] == f"/me/claims/{claim.pk}/?receipt=1"
    assert (claim.trainee, claim.training_certificate, claim.level_certificate) == (trainee, training, level)
    assert claim.bureau == hangzhou_bureau
    assert (claim.payee_kind, claim.payee_account) == ("bank", "6222021234567890123")
    receipt = trainee_client.get(response["Location"]).content.decode()
    assert f'id="claim-number">{claim.pk}<' in receipt


def test_submitting_twice_makes_one_claim(trainee_client, certificates):
    _training, level = certificates
    walk_to_confirm(trainee_client, level)
    first = trainee_client.post("/me/claim/confirm/", {"level_certificate": level.pk})
    # The back button, a second tab or a double click: the same form posted again.
    second = trainee_client.post("/me/claim/confirm/", {"level_certificate": level.pk})
    assert SubsidyClaim.objects.count() == 1
    assert second["Location"] == first["Location"]  # the receipt of the one claim
    # A stale second tab that still has the wizard's state finds the claim too.
    walk_state = {
        "level_certificate": level.pk,
        "bureau": SubsidyClaim.objects.get().bureau_id,
        "checked": True,
        "payee": True,
    }
    session = trainee_client.session
    session[wizard.STATE_KEY] = walk_state
    session.save()
    third = trainee_client.post("/me/claim/confirm/", {"level_certificate": level.pk})
    assert third["Location"] == first["Location"]
    assert SubsidyClaim.objects.count() == 1


def test_a_failing_check_lists_every_failed_rule_first_and_writes_nothing(
    trainee_client, trainee, certificates, ningbo
):
    _training, level = certificates
    # Three other training subsidies this year, and cities outside Hangzhou: two rules fail.
    year = timezone.localdate().year
    for day in (1, 2, 3):
        ExternalSubsidyRecordFactory(resident_id=trainee.resident_id, grant_date=datetime.date(year, 1, day))
    trainee.household_city = ningbo
    trainee.residence_city = ningbo
    trainee.save()
    trainee_client.post("/me/claim/certificate/", {"level_certificate": level.pk})
    page = trainee_client.get("/me/claim/check/")
    rows = page.context["rows"]
    failed = [r["code"] for r in rows if r["state"] == "failed"]
    assert "annual_limit" in failed
    assert [r["state"] for r in rows][: len(failed)] == ["failed"] * len(failed)
    text = page.content.decode()
    assert "依据：每人每年可享受不超过3次" in text
    assert "您可以" in text
    # Continuing is refused; nothing was written.
    assert trainee_client.post("/me/claim/check/", {"continue": "1"}).status_code == 200
    assert trainee_client.get("/me/claim/payee/")["Location"] == "/me/claim/check/"
    assert not SubsidyClaim.objects.exists()
    assert not ClaimEvent.objects.exists()


def test_a_trainee_without_a_zhejiang_city_is_told_where_to_claim(trainee_client, trainee, certificates):
    from reference.tests.factories import CityFactory

    elsewhere = CityFactory(code="110100", name="北京市", in_zhejiang=False)
    trainee.household_city = trainee.residence_city = elsewhere
    trainee.save()
    _training, level = certificates
    trainee_client.post("/me/claim/certificate/", {"level_certificate": level.pk})
    page = trainee_client.get("/me/claim/check/")
    assert [r["code"] for r in page.context["rows"] if r["state"] == "failed"] == ["wrong_bureau"]
    assert "请向户籍地、常住地或求职就业地人社部门申领" in page.content.decode()


def test_the_payee_account_is_checked_beside_the_fields(trainee_client, certificates):
    _training, level = certificates
    trainee_client.post("/me/claim/certificate/", {"level_certificate": level.pk})
    trainee_client.post("/me/claim/check/", {"continue": "1"})
    response = trainee_client.post("/me/claim/payee/", {**PAYEE, "account": "12"})
    assert response.status_code == 200
    assert response.context["form"].errors["account"]


def test_withdraw_asks_for_confirmation(trainee_client, trainee, certificates, hangzhou_bureau):
    training, level = certificates
    claim = claim_submit(
        trainee=trainee, training_certificate=training, level_certificate=level, bureau=hangzhou_bureau
    )
    page = trainee_client.get(f"/me/claims/{claim.pk}/withdraw/")
    assert page.status_code == 200
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    trainee_client.post(f"/me/claims/{claim.pk}/withdraw/")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN
    timeline = trainee_client.get(f"/me/claims/{claim.pk}/").context["events"]
    assert [e.to_status for e in timeline] == ["submitted", "withdrawn"]


def test_the_reviewers_approval_shows_in_the_timeline_and_the_inbox(
    trainee_client, trainee, certificates, hangzhou_bureau, hangzhou_reviewer
):
    training, level = certificates
    claim = claim_submit(
        trainee=trainee,
        training_certificate=training,
        level_certificate=level,
        bureau=hangzhou_bureau,
        actor=trainee.user,
    )
    claim_approve(claim=claim, actor=hangzhou_reviewer)
    page = trainee_client.get(f"/me/claims/{claim.pk}/").content.decode()
    assert "审核通过" in page
    inbox = trainee_client.get("/me/messages/").content.decode()
    assert 'id="unread-count"' in inbox
    message = Message.objects.filter(recipient=trainee.user, subject_id=claim.pk).order_by("-id").first()
    assert message.link == f"/me/claims/{claim.pk}/"
    trainee_client.get(f"/me/messages/{message.pk}/")
    message.refresh_from_db()
    assert message.is_read
    trainee_client.post("/me/messages/read-all/")
    assert not Message.objects.filter(recipient=trainee.user, read_at__isnull=True).exists()
    assert 'id="unread-count"' not in trainee_client.get("/me/messages/").content.decode()


def test_one_trainee_cannot_open_anothers_claim_certificate_or_message(
    trainee, certificates, hangzhou_bureau, hangzhou, institution, evaluator
):
    training, level = certificates
    claim = claim_submit(
        trainee=trainee, training_certificate=training, level_certificate=level, bureau=hangzhou_bureau
    )
    message = Message.objects.filter(recipient=trainee.user).first()
    other = TraineeFactory(household_city=hangzhou, user=UserFactory(role=Role.TRAINEE))
    other_client = Client()
    other_client.force_login(other.user)
    for url in (
        f"/me/claims/{claim.pk}/",
        f"/me/claims/{claim.pk}/withdraw/",
        f"/me/certificates/{level.pk}/",
        f"/me/messages/{message.pk}/",
        f"/me/claim/certificate/?level_certificate={level.pk}",
    ):
        response = other_client.get(url)
        assert response.status_code in (404, 200), url
        if response.status_code == 200:  # the wizard's list: the certificate is not offered
            assert level.number not in response.content.decode()
    assert other_client.post(f"/me/claims/{claim.pk}/withdraw/").status_code == 404
    assert other_client.post("/me/claim/certificate/", {"level_certificate": level.pk}).status_code == 200
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_my_record_shows_certificates_titles_hours_and_the_years_use(
    trainee_client, trainee, certificates, hangzhou_bureau
):
    training, level = certificates
    claim_submit(
        trainee=trainee, training_certificate=training, level_certificate=level, bureau=hangzhou_bureau
    )
    ExternalSubsidyRecordFactory(resident_id=trainee.resident_id, grant_date=timezone.localdate())
    page = trainee_client.get("/me/")
    text = page.content.decode()
    assert level.number in text and training.number in text
    assert "助理工程师" in text
    assert page.context["year_use"].used == 2
    assert "2 / 3 次" in text
    assert page.context["hours_by_year"]


def test_pages_of_a_trainee_are_never_cached_by_a_shared_proxy(trainee_client, certificates):
    for url in ("/me/", "/me/claims/", "/me/messages/", "/me/claim/certificate/"):
        cache_control = trainee_client.get(url)["Cache-Control"]
        assert "private" in cache_control and "no-store" in cache_control, url


def test_every_form_needs_the_csrf_token(trainee, certificates):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trainee.user)
    _training, level = certificates
    assert client.post("/me/claim/certificate/", {"level_certificate": level.pk}).status_code == 403
    assert (
        Client(enforce_csrf_checks=True).post("/login/", {"identifier": "x", "password": "y"}).status_code
        == 403
    )


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/me/claims/")
    assert response["Location"] == "/login/?next=/me/claims/"


def test_the_admin_view_site_link_goes_to_the_trainee_service(client_of, hangzhou_reviewer):
    page = client_of(hangzhou_reviewer).get("/admin/").content.decode()
    assert 'href="/"' in page


def test_a_second_level_certificate_of_another_trainee_is_not_claimable_here(
    trainee_client, trainee, hangzhou, institution, evaluator
):
    from reference.tests.factories import OccupationFactory

    other = TraineeFactory(household_city=hangzhou)
    _t, theirs = certified(
        other, institution=institution, evaluator=evaluator, occupation=OccupationFactory()
    )
    response = trainee_client.post("/me/claim/certificate/", {"level_certificate": theirs.pk})
    assert response.status_code == 200
    assert response.context["error"]


def test_a_trainee_with_two_cities_chooses_the_bureau_and_sees_the_basis(
    trainee_client, trainee, certificates, ningbo, ningbo_bureau, hangzhou_bureau
):
    trainee.employment_city = ningbo
    trainee.save()
    _training, level = certificates
    trainee_client.post("/me/claim/certificate/", {"level_certificate": level.pk})
    page = trainee_client.get("/me/claim/check/")
    assert [(a.bureau, a.basis) for a in page.context["allowed"]] == [
        (hangzhou_bureau, "household"),
        (ningbo_bureau, "employment"),
    ]
    trainee_client.post("/me/claim/check/", {"bureau": ningbo_bureau.pk})
    assert trainee_client.post("/me/claim/check/", {"continue": "1"})["Location"] == "/me/claim/payee/"
    trainee_client.post("/me/claim/payee/", PAYEE)
    trainee_client.post("/me/claim/confirm/", {"level_certificate": level.pk})
    claim = SubsidyClaim.objects.get()
    assert (claim.bureau, claim.basis) == (ningbo_bureau, "employment")


def test_a_bureau_not_allowed_cannot_be_forced_into_the_wizard(trainee_client, certificates, ningbo_bureau):
    _training, level = certificates
    trainee_client.post("/me/claim/certificate/", {"level_certificate": level.pk})
    page = trainee_client.post("/me/claim/check/", {"bureau": ningbo_bureau.pk})
    assert page.context["chosen"].bureau != ningbo_bureau
