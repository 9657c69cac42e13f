"""Each step of a claim writes a message (站内信) to the trainee in the same transaction, the
claim keeps the payee account it was submitted with, and submission is announced after commit."""

import pytest

from accounts.models import Message
from core.errors import ApplicationError, NotPermitted
from subsidies.models import ClaimStatus
from subsidies.services import claim_approve, claim_mark_paid, claim_reject, claim_withdraw
from subsidies.signals import claim_submitted
from trainees.services import trainee_set_payee_account


@pytest.fixture
def claim(db, today, trainee, certify, submit):
    trainee_set_payee_account(
        trainee=trainee,
        kind="bank",
        bank_name="中国工商银行杭州分行",
        account="6222 0212 3456 7890 123",
        actor=trainee.user,
    )
    trainee.refresh_from_db()
    training, level = certify(trainee)
    return submit(trainee, training, level, actor=trainee.user)


def _titles(user):
    return list(Message.objects.filter(recipient=user).order_by("id").values_list("title", flat=True))


def test_submission_copies_the_payee_account_and_a_later_change_does_not_move_it(claim, trainee):
    assert (claim.payee_kind, claim.payee_bank, claim.payee_account) == (
        "bank",
        "中国工商银行杭州分行",
        "6222021234567890123",
    )
    assert claim.masked_payee_account == "6222***********0123"
    trainee_set_payee_account(
        trainee=trainee, kind="ssc", bank_name="杭州银行", account="1234567890", actor=trainee.user
    )
    claim.refresh_from_db()
    assert claim.payee_account == "6222021234567890123"


def test_the_trainee_is_told_of_submission_approval_and_payment(claim, trainee, hangzhou_reviewer, today):
    claim_approve(claim=claim, actor=hangzhou_reviewer)
    claim_mark_paid(
        claim=claim, actor=hangzhou_reviewer, paid_on=today, amount=claim.amount, voucher_number="V1"
    )
    titles = _titles(trainee.user)
    assert titles == [
        f"申领第 {claim.pk} 号已受理",
        f"申领第 {claim.pk} 号审核通过",
        f"申领第 {claim.pk} 号已拨付",
    ]
    paid = Message.objects.filter(recipient=trainee.user).order_by("id").last()
    assert str(claim.amount) in paid.body
    assert paid.link == f"/me/claims/{claim.pk}/"


def test_a_rejection_message_carries_the_reason(claim, trainee, hangzhou_reviewer):
    claim_reject(claim=claim, actor=hangzhou_reviewer, reason="等级证书与培训证书姓名不符")
    last = Message.objects.filter(recipient=trainee.user).order_by("id").last()
    assert "等级证书与培训证书姓名不符" in last.body


def test_a_refused_decision_writes_no_message(claim, trainee, ningbo_reviewer):
    before = _titles(trainee.user)
    with pytest.raises(NotPermitted):
        claim_approve(claim=claim, actor=ningbo_reviewer)
    assert _titles(trainee.user) == before


def test_withdrawal_is_confirmed_by_a_message(claim, trainee):
    claim_withdraw(claim=claim, actor=trainee.user)
    assert _titles(trainee.user)[-1] == f"申领第 {claim.pk} 号已撤回"
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.WITHDRAWN


def test_submission_is_announced_only_after_commit(
    db, today, trainee, certify, submit, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, claim_id, **kwargs):
        heard.append(claim_id)

    claim_submitted.connect(listener)
    try:
        training, level = certify(trainee)
        with django_capture_on_commit_callbacks() as callbacks:
            claim = submit(trainee, training, level, actor=trainee.user)
        assert heard == []
        for callback in callbacks:
            callback()
    finally:
        claim_submitted.disconnect(listener)
    assert heard == [claim.pk]


@pytest.mark.parametrize(
    ("kind", "bank", "account", "field"),
    [
        ("bank", "", "6222021234567890123", "bank_name"),
        ("bank", "工商银行", "12345", "account"),
        ("bank", "工商银行", "6222abc1234567", "account"),
        ("cash", "工商银行", "6222021234567890123", "kind"),
    ],
)
def test_a_wrong_payee_account_is_refused_naming_the_field(db, trainee, kind, bank, account, field):
    with pytest.raises(ApplicationError) as exc:
        trainee_set_payee_account(
            trainee=trainee, kind=kind, bank_name=bank, account=account, actor=trainee.user
        )
    assert exc.value.code == "invalid_payee_account"
    assert field in exc.value.detail
    trainee.refresh_from_db()
    assert trainee.bank_account == ""


def test_another_person_cannot_set_the_payee_account(db, trainee, ningbo_reviewer):
    with pytest.raises(NotPermitted):
        trainee_set_payee_account(
            trainee=trainee,
            kind="bank",
            bank_name="工商银行",
            account="6222021234567890123",
            actor=ningbo_reviewer,
        )
