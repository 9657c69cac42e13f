"""The reviewer's risk pages: the panel on the claim page, the list filter and column, the
disposition form, the thresholds, spot checks drawn and recorded in the admin."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse

from risk.models import RiskSignal, SignalCode, SpotCheck
from risk.services import signals_compute
from subsidies.models import SubsidyClaim
from trainees.tests.factories import TraineeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(plan, claim_on, hangzhou):
    claim = claim_on(plan, trainee=TraineeFactory(household_city=hangzhou, phone="13311112222", name="钱七"))
    [TraineeFactory(household_city=hangzhou, phone="13311112222") for _ in range(2)]
    clean = claim_on(plan)
    signals_compute(claims=SubsidyClaim.objects.all())
    return claim, clean


def test_the_claim_page_shows_the_signal_with_its_evidence(flagged, hangzhou_reviewer, client_of):
    claim, _clean = flagged
    page = client_of(hangzhou_reviewer).get(reverse("admin:subsidies_subsidyclaim_change", args=[claim.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "133****2222" in body and "风险提示" in body


def test_the_claim_list_filters_and_marks_claims_with_signals(flagged, hangzhou_reviewer, client_of):
    claim, clean = flagged
    client = client_of(hangzhou_reviewer)
    url = reverse("admin:subsidies_subsidyclaim_changelist")
    # A reviewer's list opens on the submitted claims (a redirect that keeps the filters).
    listed = client.get(url, {"risk": "any"}, follow=True)
    assert [c.pk for c in listed.context["cl"].result_list] == [claim.pk]
    unflagged = client.get(url, {"risk": "none"}, follow=True)
    assert [c.pk for c in unflagged.context["cl"].result_list] == [clean.pk]
    assert "risk-flag" in client.get(url, follow=True).content.decode()


def test_the_reviewer_records_a_disposition(flagged, hangzhou_reviewer, client_of):
    claim, _clean = flagged
    signal = RiskSignal.objects.get(claim=claim, code=SignalCode.SHARED_PHONE)
    client = client_of(hangzhou_reviewer)
    url = reverse("admin:risk_risksignal_change", args=[signal.pk])
    response = client.post(url, {"disposition": "problem", "disposition_note": ""})
    signal.refresh_from_db()
    assert signal.disposition == ""
    response = client.post(
        url, {"disposition": "problem", "disposition_note": "三人共用一个手机号，已约谈机构"}
    )
    assert response.status_code == 302
    signal.refresh_from_db()
    assert (signal.disposition, signal.disposed_by) == ("problem", hangzhou_reviewer)


def test_a_spot_check_is_drawn_recorded_and_printed_in_the_admin(
    plan, claim_on, institution, hangzhou_reviewer, client_of
):
    for _ in range(5):
        claim_on(plan)
    client = client_of(hangzhou_reviewer)
    today = datetime.date.today()
    response = client.post(
        reverse("admin:risk_spotcheck_add"),
        {
            "institution": institution.pk,
            "subject": "claims",
            "period_start": (today - datetime.timedelta(days=30)).isoformat(),
            "period_end": today.isoformat(),
            "percent": "20",
            "minimum": "2",
            "seed": "99",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    check = SpotCheck.objects.get()
    assert check.seed == 99 and len(check.drawn_ids) == 2
    items = list(check.items.order_by("position"))
    page = client.get(reverse("admin:risk_spotcheck_change", args=[check.pk]))
    assert "reproducible" in page.content.decode() or "可复现" in page.content.decode()
    data = {
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "2",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "0",
    }
    for i, item in enumerate(items):
        data |= {
            f"items-{i}-id": item.pk,
            f"items-{i}-spot_check": check.pk,
            f"items-{i}-outcome": "passed" if i == 0 else "failed",
            f"items-{i}-note": "" if i == 0 else "培训记录缺失",
        }
    response = client.post(reverse("admin:risk_spotcheck_change", args=[check.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(check.items.order_by("position").values_list("outcome", flat=True)) == ["passed", "failed"]
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get(reverse("admin:risk_spotcheck_form", args=[check.pk])).content)
    ).active
    assert any(c.value == "培训记录缺失" for row in sheet.iter_rows() for c in row)


def test_the_dashboard_counts_signals_by_signal_and_city(flagged, hangzhou_reviewer, client_of):
    page = client_of(hangzhou_reviewer).get(reverse("dashboard:progress"))
    assert page.status_code == 200
    counts = page.context["risk"]
    assert dict(counts["by_code"])[SignalCode.SHARED_PHONE.label] == 1
    assert counts["by_city"] == [("杭州市", 1)]
    assert 'id="section-risk"' in page.content.decode()
