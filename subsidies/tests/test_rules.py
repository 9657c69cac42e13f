"""The rule registry itself, the claim window arithmetic, and who sees which claims."""

import datetime

import pytest

from subsidies import rules
from subsidies.selectors import claims_visible_to
from subsidies.tests.factories import SubsidyClaimFactory
from trainees.tests.factories import TraineeFactory

SPEC_CODES = [
    "missing_certificates",
    "certificate_mismatch",
    "certificate_already_used",
    "institution_not_listed",
    "evaluator_not_listed",
    "before_policy_start",
    "annual_limit",
    "duplicate_occupation_level",
    "lower_level_after_higher",
    "wrong_bureau",
    "no_standard",
    "claim_window_closed",
    "missing_documents",
]


def test_every_rule_of_the_spec_is_registered_once_in_the_spec_order():
    assert list(rules.RULES) == SPEC_CODES


def test_every_rule_names_its_source_in_its_docstring():
    """The policy clause in Chinese, or, for the two rules from cities' practice, reference-data.md."""
    for code, fn in rules.RULES.items():
        doc = fn.__doc__ or ""
        assert any("\u4e00" <= ch <= "\u9fff" for ch in doc) or "reference-data.md" in doc, code


@pytest.mark.parametrize(
    ("issued", "months", "last_day"),
    [
        (datetime.date(2024, 2, 29), 12, datetime.date(2025, 2, 28)),
        (datetime.date(2024, 1, 31), 1, datetime.date(2024, 2, 29)),
        (datetime.date(2024, 3, 15), 12, datetime.date(2025, 3, 15)),
        (datetime.date(2024, 8, 31), 6, datetime.date(2025, 2, 28)),
        (datetime.date(2024, 12, 1), 1, datetime.date(2025, 1, 1)),
    ],
)
def test_the_claim_window_ends_on_the_same_day_n_months_later_or_the_months_last_day(
    issued, months, last_day
):
    assert rules.claim_window_end(issued, months) == last_day


@pytest.mark.django_db
def test_claims_are_visible_to_their_bureau_their_trainee_and_the_province_only(
    hangzhou, hangzhou_reviewer, ningbo_reviewer, provincial_staff, institution_staff, trainee, anonymous
):
    own = SubsidyClaimFactory(level_certificate__assessment__training_certificate__enrolment__trainee=trainee)
    other = SubsidyClaimFactory(
        level_certificate__assessment__training_certificate__enrolment__trainee=TraineeFactory(
            household_city=hangzhou
        )
    )
    assert set(claims_visible_to(hangzhou_reviewer)) == {own, other}
    assert set(claims_visible_to(ningbo_reviewer)) == set()
    assert set(claims_visible_to(provincial_staff)) == {own, other}
    assert set(claims_visible_to(trainee.user)) == {own}
    assert set(claims_visible_to(institution_staff)) == set()
    assert set(claims_visible_to(None)) == set()
