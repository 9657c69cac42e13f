"""What the pre-check page says about each claim rule: a short title, the policy clause it
comes from and, when it fails, what the trainee can do. Keyed by the rules' stable codes
(subsidies/rules.py); the rules themselves are not repeated here."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from subsidies import rules

TITLES = {
    rules.MISSING_CERTIFICATES: _("Both certificates held"),
    rules.CERTIFICATE_MISMATCH: _("Certificates match each other"),
    rules.CERTIFICATE_ALREADY_USED: _("Certificates not used for another claim"),
    rules.INSTITUTION_NOT_LISTED: _("Training institution on the catalogue"),
    rules.EVALUATOR_NOT_LISTED: _("Evaluation institution on the catalogue"),
    rules.BEFORE_POLICY_START: _("Certificate issued after the programme began"),
    rules.ANNUAL_LIMIT: _("At most 3 subsidies a year"),
    rules.DUPLICATE_OCCUPATION_LEVEL: _("Not claimed before for this occupation and level"),
    rules.LOWER_LEVEL_AFTER_HIGHER: _("No lower level after a higher one"),
    rules.WRONG_BUREAU: _("The right bureau"),
    rules.NO_STANDARD: _("A subsidy standard applies"),
    rules.CLAIM_WINDOW_CLOSED: _("Within the claim window"),
    rules.MISSING_DOCUMENTS: _("Supporting documents the city asks for"),
}

CLAUSES = {
    rules.MISSING_CERTIFICATES: _(
        "Clause: people who completed the hours and hold both the training certificate and the matching level certificate"
    ),
    rules.CERTIFICATE_MISMATCH: _(
        "Clause: people who completed the hours and hold both the training certificate and the matching level certificate"
    ),
    rules.CERTIFICATE_ALREADY_USED: _("Clause: the same occupation and level cannot be subsidised twice"),
    rules.INSTITUTION_NOT_LISTED: _("Clause: training is given by institutions on the ministry's catalogue"),
    rules.EVALUATOR_NOT_LISTED: _("Clause: evaluation is done by institutions on the ministry's catalogue"),
    rules.BEFORE_POLICY_START: _("Clause: this plan is in force from 16 September 2023"),
    rules.ANNUAL_LIMIT: _("Clause: at most 3 times per person per year"),
    rules.DUPLICATE_OCCUPATION_LEVEL: _("Clause: the same occupation and level cannot be subsidised twice"),
    rules.LOWER_LEVEL_AFTER_HIGHER: _("Clause: Zhejiang's practice for training subsidies"),
    rules.WRONG_BUREAU: _(
        "Clause: claim at the household, residence or employment city; graduates at the school's city"
    ),
    rules.NO_STANDARD: _("Clause: subsidy standards are published for each occupation and level"),
    rules.CLAIM_WINDOW_CLOSED: _("Clause: claim under the rules of each city"),
    rules.MISSING_DOCUMENTS: _("Clause: claim the training subsidy under the rules of each city"),
}

ADVICE = {
    rules.MISSING_CERTIFICATES: _(
        "Finish the class and the level test first; claim when you hold both certificates."
    ),
    rules.CERTIFICATE_MISMATCH: _(
        "Ask your training institution or the evaluation institution to correct the certificate."
    ),
    rules.CERTIFICATE_ALREADY_USED: _(
        "This certificate already backs a claim; follow that claim under My claims."
    ),
    rules.INSTITUTION_NOT_LISTED: _(
        "Ask the bureau of your city; training at an institution off the catalogue is not subsidised."
    ),
    rules.EVALUATOR_NOT_LISTED: _(
        "Ask the bureau of your city; a certificate from an institution off the catalogue is not subsidised."
    ),
    rules.BEFORE_POLICY_START: _("Certificates issued before the programme began are not subsidised."),
    rules.ANNUAL_LIMIT: _(
        "You may claim again next year; the limit counts every training subsidy of the year."
    ),
    rules.DUPLICATE_OCCUPATION_LEVEL: _(
        "You already have a claim for this occupation and level; follow it under My claims."
    ),
    rules.LOWER_LEVEL_AFTER_HIGHER: _("A lower level after a higher one is not subsidised."),
    rules.WRONG_BUREAU: _(
        "Claim at the human-resources bureau of your household-registration, usual-residence or job-seeking/employment city; ask your institution to correct your cities if they are wrong."
    ),
    rules.NO_STANDARD: _("Ask the bureau of your city; no standard covers this occupation and level yet."),
    rules.CLAIM_WINDOW_CLOSED: _(
        "The time to claim on this certificate has passed; ask the bureau of your city."
    ),
    rules.MISSING_DOCUMENTS: _(
        "Upload a photo or scan of each document listed (PDF, JPG or PNG) in the next step, "
        "Supporting documents."
    ),
}


def explain(results) -> list[dict]:
    """Every result with its title, clause and advice; failures first, then the rules that
    could not be judged, then the passes (each group in the order of SPEC's table)."""
    rows = []
    for result in results:
        state = (
            "failed"
            if not result.passed and not result.skipped
            else ("skipped" if result.skipped else "passed")
        )
        rows.append(
            {
                "code": result.code,
                "state": state,
                "title": TITLES.get(result.code, result.code),
                "message": result.message,
                "clause": CLAUSES.get(result.code, ""),
                "advice": ADVICE.get(result.code, "") if state == "failed" else "",
            }
        )
    rank = {"failed": 0, "skipped": 1, "passed": 2}
    return sorted(rows, key=lambda r: rank[r["state"]])
