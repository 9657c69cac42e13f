"""Chinese operation summaries and descriptions for the OpenAPI schema (Swagger UI, ReDoc).

Kept in one table keyed by operationId and tag, applied by the ``translate_operations`` hook, so the
API docs read in Chinese without touching every view; an operation missing here keeps the summary
its view gives (``tests/api/test_api_docs.py`` lists any left in English).
"""

from django.utils.translation import gettext_lazy as _

OPERATION_SUMMARIES = {
    "claim_documents_list": _("Supporting documents the caller may read"),
    "claim_documents_create": _("Upload a supporting document"),
    "claim_documents_retrieve": _("One supporting document"),
    "claim_documents_file_retrieve": _("Download the document's file"),
    "enrolments_attendance_list": _("The enrolment's attendance, session by session, corrections applied"),
    "messages_list": _("The caller's messages, newest first"),
    "messages_retrieve": _("One of the caller's messages"),
    "messages_read_create": _("Mark one message read"),
    "messages_read_all_create": _("Mark every message read"),
    "reports_pdf_retrieve": _("Download the finished report as PDF (the same form, print-ready)"),
    "trainees_payee_account_update": _("Set a trainee's payee account"),
    "auth_token_create": _("Get an API token with a username and password"),
    "auth_token_destroy": _("Revoke the caller's API token (log out)"),
    "me_retrieve": _("The caller: user, role and organisation"),
    "claims_list": _("Claims the caller may see"),
    "claims_create": _("Submit a claim"),
    "claims_retrieve": _("One claim, with its rule results and history"),
    "claims_approve_create": _("Approve a claim (the rules run again)"),
    "claims_mark_paid_create": _("Record the payment of an approved claim"),
    "claims_reject_create": _("Reject a claim with a reason"),
    "claims_withdraw_create": _("Withdraw an unreviewed claim"),
    "claims_check_create": _("Check a prospective claim against every rule, without submitting it"),
    "enrolments_list": _("Enrolments the caller may see"),
    "enrolments_create": _("Enrol a registered trainee in an accepted plan"),
    "enrolments_retrieve": _("One enrolment"),
    "enrolments_completion_create": _("Record the completion test"),
    "enrolments_hours_create": _("Record hours attended"),
    "level_assessments_list": _("Level tests the caller may see"),
    "level_assessments_create": _("Record a level test's results"),
    "level_assessments_retrieve": _("One level test"),
    "level_certificates_list": _("Level certificates the caller may see"),
    "level_certificates_create": _("Issue the level certificate of a passed test"),
    "level_certificates_retrieve": _("One level certificate"),
    "plans_list": _("Plans the caller may see"),
    "plans_create": _("Create a draft plan"),
    "plans_retrieve": _("One plan"),
    "plans_partial_update": _("Correct a draft or returned plan"),
    "plans_accept_create": _("Accept a filed plan"),
    "plans_file_create": _("File the plan with its filing authority"),
    "plans_return_create": _("Return a filed plan with a reason"),
    "public_plans_list": _("Public notice of accepted plans"),
    "public_plans_retrieve": _("One accepted plan"),
    "reference_bureaus_list": _("Human-resources bureaus"),
    "reference_bureaus_retrieve": _("One human-resources bureau"),
    "reference_cities_list": _("Cities"),
    "reference_cities_retrieve": _("One city"),
    "reference_evaluation_institutions_list": _("The catalogue of evaluation institutions"),
    "reference_evaluation_institutions_retrieve": _("One evaluation institution"),
    "reference_occupations_list": _("Occupations and their directions"),
    "reference_occupations_retrieve": _("One occupation"),
    "reference_training_institutions_list": _("The catalogue of training institutions"),
    "reference_training_institutions_retrieve": _("One training institution"),
    "reports_list": _("Report jobs the caller may see"),
    "reports_create": _("Request a report"),
    "reports_retrieve": _("One report job: status and progress"),
    "reports_download_retrieve": _("Download the finished report"),
    "trainees_list": _("Trainees the caller may see"),
    "trainees_create": _("Register a trainee"),
    "trainees_retrieve": _("One trainee"),
    "trainees_me_retrieve": _("The trainee's own record"),
    "training_certificates_list": _("Training certificates the caller may see"),
    "training_certificates_create": _("Issue the training certificate of an enrolment"),
    "training_certificates_retrieve": _("One training certificate"),
}

TAG_DESCRIPTIONS = {
    "claim-documents": _(
        "Supporting documents (居住证, 劳动合同, ...) a trainee uploads for a claim; read only by the trainee and the claim's bureau."
    ),
    "messages": _("In-site messages (站内信) to the caller: decisions, payments, finished jobs."),
    "auth": _(
        "Log in with a username and password to get a token; send it as “Authorization: Token <token>” on every call."
    ),
    "claims": _(
        "Subsidy claims: a trainee submits and withdraws; the bureau the claim was filed to approves, rejects with a reason and records payment. A refused claim names every failed rule, in Chinese, in detail.rules."
    ),
    "enrolments": _("Enrolments in a plan's class: hours attended and the completion test."),
    "level-assessments": _(
        "Level tests: theory and practical results, recorded by the evaluation institution."
    ),
    "level-certificates": _(
        "Level certificates: issued by the evaluation institution when both parts passed."
    ),
    "plans": _(
        "Training plans: an institution drafts and files them; the filing authority accepts or returns them."
    ),
    "public": _("Public information for anyone, without login."),
    "reference": _("Reference data: cities, bureaus, occupations and the catalogues of institutions."),
    "reports": _(
        "Filing reports, produced in the background: request one, follow its progress, download it when done."
    ),
    "trainees": _("Trainees: registered by their institution; a trainee reads their own record."),
    "training-certificates": _("Training certificates: issued by the institution for one enrolment."),
}

ERROR_DESCRIPTIONS = {
    "400": _(
        "The input is not valid (validation_error, the fields named in detail) or the service refused it (its own code)."
    ),
    "401": _("Not logged in, or the token is not valid."),
    "403": _("The caller's role may not use this endpoint, or may not take this step on this record."),
    "404": _(
        "No such record within the caller's scope (records of other cities, institutions or trainees answer 404 too)."
    ),
    "409": _("The record is not in a state that allows this step, or another request changed it."),
    "415": _("The request body's media type is not supported."),
    "429": _("Too many requests; the Retry-After header says when to try again."),
}

# Where an operation's error means more than the default (the view's own response description).
RESPONSE_DESCRIPTIONS = {
    ("claims_create", "400"): _(
        "The claim is refused (claim_ineligible: every failed rule in detail.rules, in Chinese) or the input is not valid."
    ),
    ("claims_approve_create", "400"): _(
        "The claim is refused (claim_ineligible: every failed rule in detail.rules, in Chinese) or the input is not valid."
    ),
    ("auth_token_create", "400"): _("Missing fields, or a wrong username or password (invalid_credentials)."),
}

_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}


def translate_operations(result, generator, request, public):
    """drf-spectacular postprocessing hook: Chinese summaries, descriptions and tag texts.

    Runs after ``core.api_schema.add_error_responses`` so the error responses it added read in
    Chinese too. The schema is generated per request in the active language (Chinese).
    """
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            summary = OPERATION_SUMMARIES.get(operation.get("operationId"))
            if summary is not None:
                operation["summary"] = str(summary)
            tags = operation.get("tags") or []
            if tags and tags[0] in TAG_DESCRIPTIONS:
                operation["description"] = str(TAG_DESCRIPTIONS[tags[0]])
            for code, response in operation.get("responses", {}).items():
                text = RESPONSE_DESCRIPTIONS.get(
                    (operation.get("operationId"), code), ERROR_DESCRIPTIONS.get(code)
                )
                if text is not None and isinstance(response, dict):
                    response["description"] = str(text)
    result["tags"] = [{"name": name, "description": str(text)} for name, text in TAG_DESCRIPTIONS.items()]
    return result
