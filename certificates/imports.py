"""Excel import of level-test results from an evaluation institution.

Each row records a level test (理论知识考试 and 专业能力考核) of a holder of a training
certificate whose plan names this evaluation institution; a row where both parts passed
also issues the level certificate (专业技术等级证书) through the same service as the admin.
Re-importing a file changes nothing: tests are keyed by (training certificate, test
date), and a test with a certificate keeps it.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from certificates.models import LevelAssessment, LevelCertificate, TrainingCertificate
from certificates.services import _same_score, level_assessment_record, level_certificate_issue
from core.errors import NotPermitted
from core.xlsx_import import (
    BooleanColumn,
    DateColumn,
    DecimalColumn,
    ErrorList,
    ImportResult,
    ImportSpec,
    ResidentIdColumn,
    Row,
    TextColumn,
)
from institutions.models import EvaluationInstitution, ListingStatus
from trainees.models import Trainee

_f = LevelAssessment._meta.get_field


class LevelResultImport(ImportSpec):
    slug = "level_results"
    # The counts of ImportResult.extra, labelled for the admin's preview and summary.
    result_labels = {"certificates_issued": gettext_lazy("level certificates issued")}
    title = gettext_lazy("Level test results")
    natural_key = ("training_certificate", "assessed_on")
    header_aliases = {
        "training_certificate": ("培训合格证书编号", "培训证书编号"),
        "resident_id": ("身份证号码", "身份证号", "公民身份号码"),
        "assessed_on": ("考核日期",),
        "theory_score": ("理论知识成绩", "理论成绩"),
        "theory_passed": ("理论知识合格", "理论是否合格"),
        "practical_score": ("专业能力成绩", "实操成绩"),
        "practical_passed": ("专业能力合格", "实操是否合格"),
        "issued_on": ("发证日期", "等级证书发证日期"),
    }
    notes = (
        gettext_lazy(
            "One row per test. Both parts passed issues the level certificate on the issue date given, or today."
        ),
        gettext_lazy("Format the certificate and ID columns as text."),
    )
    columns = (
        TextColumn(
            "training_certificate",
            gettext_lazy("Training certificate number"),
            strict=True,
            max_length=40,
            width=22,
        ),
        ResidentIdColumn("resident_id", Trainee._meta.get_field("resident_id").verbose_name),
        DateColumn("assessed_on", _f("assessed_on").verbose_name),
        DecimalColumn(
            "theory_score",
            _f("theory_score").verbose_name,
            min_value=0,
            max_value=100,
            places=1,
            required=False,
        ),
        BooleanColumn("theory_passed", _f("theory_passed").verbose_name),
        DecimalColumn(
            "practical_score",
            _f("practical_score").verbose_name,
            min_value=0,
            max_value=100,
            places=1,
            required=False,
        ),
        BooleanColumn("practical_passed", _f("practical_passed").verbose_name),
        DateColumn("issued_on", gettext_lazy("Level certificate issue date"), required=False),
    )

    def prepare(self, ctx: dict[str, Any]) -> None:
        actor, evaluator = ctx.get("actor"), ctx["evaluator"]
        if actor is None or getattr(actor, "evaluator_id", None) != evaluator.pk:
            raise NotPermitted(
                "not_permitted", _("Only the evaluation institution's own staff may import its results.")
            )

    def check_row(self, row: Row, ctx: dict[str, Any], errors: ErrorList) -> None:
        issued_on = row["issued_on"]
        if issued_on is not None and issued_on < row["assessed_on"]:
            errors.add(row.number, self.column("issued_on"), _("Before the test date."))

    def lock(self, ctx: dict[str, Any]) -> None:
        # Serialises with certificate numbering (level_certificate_issue locks the same row).
        ctx["evaluator"] = EvaluationInstitution.objects.select_for_update().get(pk=ctx["evaluator"].pk)

    def check_all(self, rows: list[Row], ctx: dict[str, Any], errors: ErrorList) -> None:
        evaluator: EvaluationInstitution = ctx["evaluator"]
        numbers = sorted({r["training_certificate"] for r in rows})
        certificates = {
            c.number: c
            for c in TrainingCertificate.objects.filter(number__in=numbers).select_related("trainee", "plan")
        }
        ctx["certificates"] = certificates
        assessments = {
            (a.training_certificate_id, a.assessed_on): a
            for a in LevelAssessment.objects.filter(
                training_certificate__number__in=numbers, evaluator=evaluator
            )
        }
        ctx["assessments"] = assessments
        certified_tests = set(
            LevelCertificate.objects.filter(assessment__in=[a.pk for a in assessments.values()]).values_list(
                "assessment_id", flat=True
            )
        )
        held = set(
            LevelCertificate.objects.filter(
                trainee_id__in={c.trainee_id for c in certificates.values()}
            ).values_list("trainee_id", "occupation_id", "level", "assessment_id")
        )
        listed_on: dict = {}
        today = timezone.localdate()
        cert_col = self.column("training_certificate")
        for row in rows:
            cert = certificates.get(row["training_certificate"])
            if cert is None:
                errors.add(row.number, cert_col, _("No training certificate has this number."))
                continue
            if cert.plan.evaluator_id != evaluator.pk:
                errors.add(
                    row.number,
                    cert_col,
                    _("The trainee's plan agreed its level test with another evaluation institution."),
                )
                continue
            if cert.trainee.resident_id != row["resident_id"]:
                errors.add(
                    row.number,
                    self.column("resident_id"),
                    _("The training certificate belongs to another person."),
                )
            if row["assessed_on"] < cert.issued_on:
                errors.add(
                    row.number, self.column("assessed_on"), _("Before the training certificate was issued.")
                )
            for column_key, day in (
                ("assessed_on", row["assessed_on"]),
                ("issued_on", row["issued_on"] or today),
            ):
                if not (row["theory_passed"] and row["practical_passed"]) and column_key == "issued_on":
                    continue
                if day not in listed_on:
                    listed_on[day] = evaluator.status_on(day) == ListingStatus.LISTED
                if not listed_on[day]:
                    errors.add(
                        row.number,
                        self.column(column_key),
                        _("The evaluation institution is not on the catalogue, or is suspended, on %(day)s.")
                        % {"day": day.isoformat()},
                    )
            existing = assessments.get((cert.pk, row["assessed_on"]))
            if existing is not None and existing.pk in certified_tests and _changes(existing, row):
                errors.add(
                    row.number, "", _("A level certificate was issued on this test; its results are final.")
                )
            passed = row["theory_passed"] and row["practical_passed"]
            other_certificate = any(
                t == cert.trainee_id
                and o == cert.occupation_id
                and lv == cert.level
                and (existing is None or a != existing.pk)
                for t, o, lv, a in held
            )
            if passed and other_certificate:
                errors.add(
                    row.number,
                    "",
                    _("The trainee already holds a level certificate for this occupation and level."),
                )

    def write(self, rows: list[Row], ctx: dict[str, Any]) -> ImportResult:
        result = ImportResult()
        issued = 0
        for row in rows:
            cert = ctx["certificates"][row["training_certificate"]]
            before = ctx["assessments"].get((cert.pk, row["assessed_on"]))
            assessment = level_assessment_record(
                training_certificate=cert,
                evaluator=ctx["evaluator"],
                assessed_on=row["assessed_on"],
                theory_score=row["theory_score"],
                theory_passed=row["theory_passed"],
                practical_score=row["practical_score"],
                practical_passed=row["practical_passed"],
                actor=ctx["actor"],
            )
            if before is None:
                result.created += 1
            elif _changes(before, row):
                result.updated += 1
            else:
                result.unchanged += 1
            if assessment.passed and not LevelCertificate.objects.filter(assessment=assessment).exists():
                level_certificate_issue(assessment=assessment, actor=ctx["actor"], issued_on=row["issued_on"])
                issued += 1
        result.extra["certificates_issued"] = issued
        return result


def _changes(assessment: LevelAssessment, row: Row) -> bool:
    return not (
        assessment.theory_passed == row["theory_passed"]
        and assessment.practical_passed == row["practical_passed"]
        and _same_score(assessment.theory_score, row["theory_score"])
        and _same_score(assessment.practical_score, row["practical_score"])
    )
