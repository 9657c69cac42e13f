import datetime

import pytest

from certificates.imports import LevelResultImport
from certificates.models import LevelAssessment, LevelCertificate
from certificates.tests.factories import TrainingCertificateFactory
from core.errors import NotPermitted
from core.xlsx_import import ImportRejected, run_import
from institutions.tests.factories import EvaluationInstitutionFactory, TrainingPlanFactory
from trainees.tests.factories import EnrolmentFactory
from trainees.tests.xlsx import xlsx_bytes

HEADER = [
    "培训合格证书编号",
    "身份证号码",
    "考核日期",
    "理论知识成绩",
    "理论知识合格",
    "专业能力成绩",
    "专业能力合格",
    "发证日期",
]
TESTED, ISSUED = datetime.date(2024, 4, 20), datetime.date(2024, 5, 10)


@pytest.fixture
def candidates(institution, evaluator):
    plan = TrainingPlanFactory(institution=institution, evaluator=evaluator)
    return [TrainingCertificateFactory(enrolment=EnrolmentFactory(plan=plan)) for _ in range(3)]


def level_import(actor, evaluator, rows):
    return run_import(
        LevelResultImport(), xlsx_bytes(HEADER, rows), ctx={"evaluator": evaluator, "actor": actor}
    )


def row(cert, theory="合格", practical="合格"):
    return [cert.number, cert.trainee.resident_id, TESTED, 80, theory, 75, practical, ISSUED]


def test_results_record_tests_and_issue_certificates_for_passes_only(candidates, evaluator, evaluation_staff):
    a, b, c = candidates
    result = level_import(
        evaluation_staff, evaluator, [row(a), row(b, theory="不合格"), row(c, practical="否")]
    )
    assert (result.created, result.extra["certificates_issued"]) == (3, 1)
    assert list(LevelCertificate.objects.values_list("trainee_id", flat=True)) == [a.trainee_id]
    certificate = LevelCertificate.objects.get()
    assert certificate.issued_on == ISSUED
    assert certificate.number.startswith(f"DJ2024{evaluator.pk:04d}")
    again = level_import(
        evaluation_staff, evaluator, [row(a), row(b, theory="不合格"), row(c, practical="否")]
    )
    assert (again.created, again.unchanged, again.extra["certificates_issued"]) == (0, 3, 0)
    assert LevelAssessment.objects.count() == 3
    assert LevelCertificate.objects.count() == 1


def test_rows_for_unknown_or_foreign_candidates_are_refused_and_nothing_is_written(
    candidates, evaluator, evaluation_staff, hangzhou
):
    a, b, _c = candidates
    foreign = TrainingCertificateFactory(
        enrolment=EnrolmentFactory(
            plan=TrainingPlanFactory(evaluator=EvaluationInstitutionFactory(city=hangzhou))
        )
    )
    number_as_float = row(b)
    number_as_float[0] = 2024000000001.0
    rows = [
        row(a),
        ["PX-NO-SUCH", a.trainee.resident_id, TESTED, 80, "合格", 75, "合格", ISSUED],
        row(foreign),
        [a.number, b.trainee.resident_id, TESTED + datetime.timedelta(1), 80, "合格", 75, "合格", ISSUED],
        number_as_float,
        row(a),  # duplicate of row 2
    ]
    with pytest.raises(ImportRejected) as exc:
        level_import(evaluation_staff, evaluator, rows)
    assert {(e["row"], e["column"] != "") for e in exc.value.detail["errors"]} == {
        (3, True),
        (4, True),
        (5, True),
        (6, True),
        (7, True),
    }
    assert not LevelAssessment.objects.exists()


def test_only_the_evaluators_own_staff_may_import(candidates, evaluator, institution_staff):
    with pytest.raises(NotPermitted):
        level_import(institution_staff, evaluator, [row(candidates[0])])
