"""The claim page as the reviewer's decision page: approve, reject with a common reason, record
payment, the history, and the panels other apps add."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import Message
from subsidies.admin_panels import register_claim_panel, unregister_claim_panel
from subsidies.models import ClaimEvent, ClaimStatus, ExternalSubsidyRecord, RejectReason, SubsidyClaim
from subsidies.services import claim_approve

pytestmark = pytest.mark.django_db


def url(name, claim):
    return reverse(f"admin:subsidies_subsidyclaim_{name}", args=[claim.pk])


@pytest.fixture
def claim(today, trainee, certify, submit):
    training, level = certify(trainee)
    return submit(trainee, training, level, actor=trainee.user)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_reviewer_approves_from_the_page_through_the_service(client_of, hangzhou_reviewer, claim):
    client = client_of(hangzhou_reviewer)
    response = client.post(url("approve", claim))
    assert response.status_code == 302 and response.url == url("change", claim)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    assert claim.decided_by == hangzhou_reviewer
    assert ClaimEvent.objects.filter(claim=claim, to_status=ClaimStatus.APPROVED).count() == 1
    assert Message.objects.filter(recipient=claim.trainee.user, title__contains="审核通过").exists()
    # 最近动作 on the admin index shows it.
    assert LogEntry.objects.filter(user=hangzhou_reviewer, object_id=str(claim.pk)).exists()
    page = client.get(url("change", claim)).content.decode()
    assert 'id="approve-form"' not in page and 'id="pay-form"' in page


def test_an_approval_refused_by_the_rules_says_which_rule_in_chinese(client_of, hangzhou_reviewer, claim):
    for day in (1, 2, 3):
        ExternalSubsidyRecord.objects.create(
            resident_id=claim.trainee.resident_id,
            name=claim.trainee.name,
            kind=f"技能提升补贴{day}",
            grant_date=datetime.date(2025, 1, day),
            amount=100,
        )
    response = client_of(hangzhou_reviewer).post(url("approve", claim), follow=True)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    [message] = [m for m in _messages(response) if "申领不符合补贴规定" in m]
    assert "每年不超过三次" in message and "annual_limit" not in message
    content = response.content.decode()
    table = content[content.index('class="rule-results"') :]
    assert table.index("每年不超过三次") < table.index("持有两证")


def test_reject_takes_a_common_reason_and_free_text(client_of, hangzhou_reviewer, claim):
    reason = RejectReason.objects.filter(active=True).first()
    assert reason is not None  # the starting list from the migration
    response = client_of(hangzhou_reviewer).post(
        url("reject", claim), {"common_reason": reason.pk, "reason": "请补充居住证后重新申领"}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED
    assert claim.reject_reason == f"{reason.text}；请补充居住证后重新申领"


def test_reject_without_any_reason_changes_nothing_and_says_what_to_do(client_of, hangzhou_reviewer, claim):
    response = client_of(hangzhou_reviewer).post(url("reject", claim), {"reason": "  "}, follow=True)
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    assert any("请选择常用原因或填写原因" in m for m in _messages(response))


def test_a_switched_off_reason_is_not_offered(client_of, hangzhou_reviewer, claim):
    off = RejectReason.objects.create(text="已停用的原因", active=False)
    page = client_of(hangzhou_reviewer).get(url("change", claim)).content.decode()
    assert "已停用的原因" not in page
    response = client_of(hangzhou_reviewer).post(url("reject", claim), {"common_reason": off.pk})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED and response.status_code == 302


def test_payment_is_recorded_from_the_page(client_of, hangzhou_reviewer, claim):
    claim_approve(claim=claim, actor=hangzhou_reviewer)
    client = client_of(hangzhou_reviewer)
    response = client.post(
        url("pay", claim), {"paid_on": "2025-03-10", "voucher_number": "PZ-1", "amount": "1000.00"}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.status, claim.voucher_number, str(claim.paid_amount)) == (
        ClaimStatus.PAID,
        "PZ-1",
        "1000.00",
    )
    bad = client.post(url("pay", claim), {"paid_on": "", "voucher_number": "", "amount": "x"}, follow=True)
    assert bad.status_code == 200
    assert all("Traceback" not in m for m in _messages(bad))


def test_another_bureau_and_provincial_staff_cannot_decide(
    client_of, ningbo_reviewer, provincial_staff, claim
):
    assert client_of(ningbo_reviewer).post(url("approve", claim)).status_code in (302, 404)
    response = client_of(provincial_staff).post(url("approve", claim))
    assert response.status_code == 403
    page = client_of(provincial_staff).get(url("change", claim)).content.decode()
    assert 'id="approve-form"' not in page
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_a_decision_is_post_only(client_of, hangzhou_reviewer, claim):
    assert client_of(hangzhou_reviewer).get(url("approve", claim)).status_code == 405
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED


def test_history_shows_the_claims_event_log_in_chinese(client_of, hangzhou_reviewer, claim):
    client_of(hangzhou_reviewer).post(url("reject", claim), {"reason": "证书信息无法核验"})
    page = client_of(hangzhou_reviewer).get(url("history", claim)).content.decode()
    assert "已提交 → 不予通过" in page
    assert "证书信息无法核验" in page
    assert "此对象没有修改历史" not in page
    assert "submitted" not in page and "rejected" not in page


def test_other_apps_add_panels_without_editing_the_claim_admin(
    client_of, hangzhou_reviewer, claim, tmp_path, settings
):
    template = tmp_path / "panel.html"
    template.write_text("<p>批次：{{ batch }}（申领 {{ claim.pk }}）</p>", encoding="utf-8")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]

    def batch_panel(request, claim):
        return "拨付批次", "panel.html", {"batch": "PB-7"}

    def nothing(request, claim):
        return None

    register_claim_panel(batch_panel, order=5)
    register_claim_panel(nothing)
    try:
        page = client_of(hangzhou_reviewer).get(url("change", claim)).content.decode()
    finally:
        unregister_claim_panel(batch_panel)
        unregister_claim_panel(nothing)
    assert "拨付批次" in page and f"批次：PB-7（申领 {claim.pk}）" in page


def test_the_api_refusal_names_rules_in_chinese_and_wrong_bureau_names_the_bureaus(
    today, api_client_of, trainee, certify, ningbo_bureau, hangzhou_bureau
):
    training, level = certify(trainee)
    response = api_client_of(trainee.user).post(
        "/api/v1/claims/",
        {"training_certificate": training.pk, "level_certificate": level.pk, "bureau": ningbo_bureau.pk},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "claim_ineligible"
    assert "wrong_bureau" not in body["message"] and "申领地符合规定" in body["message"]
    [rule] = body["detail"]["rules"]
    assert rule["code"] == "wrong_bureau"
    assert hangzhou_bureau.name in rule["message"] and "户籍地" in rule["message"]
    assert rule["clause"].startswith("可向户籍地")
    assert not SubsidyClaim.objects.exists()


def test_decisions_from_the_list_show_in_recent_actions(client_of, hangzhou_reviewer, claim):
    client = client_of(hangzhou_reviewer)
    client.post(
        reverse("admin:subsidies_subsidyclaim_changelist"),
        {"action": "approve_selected", "_selected_action": [claim.pk]},
    )
    assert LogEntry.objects.filter(user=hangzhou_reviewer, object_id=str(claim.pk)).exists()
    index = client.get("/admin/").content.decode()
    assert str(claim) in index or claim.trainee.name in index
