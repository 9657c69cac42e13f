"""Every named constraint a person can hit answers in Chinese, never with its own name.

Django shows a constraint's ``violation_error_message`` when a form or ``full_clean`` finds a
row that breaks it; the default is 约束 “<name>” 是无效的, which tells a clerk nothing.
"""

import re

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils import translation

from dashboard.tests.english_text import english_words

CJK = re.compile(r"[\u4e00-\u9fff]")


def _named_constraints():
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            yield pytest.param(model, constraint, id=constraint.name)


def test_there_are_constraints_to_walk():
    assert len(list(_named_constraints())) > 40


@pytest.mark.parametrize(("model", "constraint"), list(_named_constraints()))
def test_the_constraint_message_is_chinese_and_does_not_show_its_name(model, constraint):
    assert constraint.violation_error_message != constraint.default_violation_error_message, (
        f"{constraint.name}: give it a violation_error_message"
    )
    with translation.override("zh-hans"):
        message = str(constraint.get_violation_error_message())
    assert constraint.name not in message
    assert "_" not in message  # no column or constraint name of any kind
    assert CJK.search(message), f"{constraint.name}: untranslated message {message!r}"
    assert english_words(message) == set(), message


@pytest.mark.django_db
def test_a_plan_ending_before_it_starts_is_refused_in_chinese(institution, evaluator):
    import datetime

    from institutions.tests.factories import TrainingPlanFactory

    plan = TrainingPlanFactory.build(
        institution=institution,
        evaluator=evaluator,
        filing_authority=institution.filing_authority(),
        start_date=datetime.date(2025, 3, 1),
        end_date=datetime.date(2025, 2, 1),
    )
    plan.occupation.save()
    plan.occupation_id = plan.occupation.pk
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        plan.full_clean()
    text = " ".join(exc.value.messages)
    assert "结束日期不能早于开始日期" in text
    assert "institutions_trainingplan_end_after_start" not in text
