"""Every endpoint x every role x an object in the caller's scope ("own") and one outside it
("other") -> the answer. Read the table; the test below it only replays it.

"Own" objects are in Hangzhou: the Hangzhou institution's plans and classes, the Hangzhou
trainee 王小明's enrolment, certificates and claim (filed to the Hangzhou bureau), the
Hangzhou bureau's report. "Other" objects are the same things in Ningbo. The personas are
Hangzhou's: a reviewer of the Hangzhou bureau, staff of the Hangzhou institution and of the
Hangzhou evaluator, the trainee 王小明; plus provincial staff, who see everything, and an
anonymous caller.

Cells: an HTTP status, or for lists SEES / HIDDEN (200, and the object is / is not in the
list). An object outside the caller's scope answers 404, never 403: its existence does not
leak. A role an endpoint does not serve answers 403 whatever the object; an anonymous
caller 401. On create endpoints, "own"/"other" is the object named in the body (a plan, an
enrolment, a certificate); one outside the scope is refused as a field that names nothing
(400), like an id that does not exist. "-" marks a cell with no such object.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.identity import generate_resident_id

pytestmark = pytest.mark.django_db

SEES, HIDDEN, NA = "sees", "hidden", "-"

ROLES = ["provincial", "bureau", "institution", "evaluator", "trainee", "anonymous"]
PERSONA = {
    "provincial": "provincial_staff",
    "bureau": "hangzhou_reviewer",
    "institution": "institution_staff",
    "evaluator": "evaluation_staff",
    "trainee": "trainee_user",
    "anonymous": None,
}


def _plan_body(w, side):
    plan = w.side(side)["plan"]
    return {
        "title": "人工智能初级班（第二期）",
        "occupation": w.occupation.pk,
        "level": "junior",
        "start_date": "2024-09-02",
        "end_date": "2024-11-29",
        "hours_online": "40.0",
        "hours_offline": "40.0",
        "class_size": 40,
        "fee": "3000.00",
        "evaluator": plan.evaluator_id,
    }


def _claim_body(w, side):
    s = w.side(side)
    return {
        "training_certificate": s["unclaimed_training_certificate"].pk,
        "level_certificate": s["unclaimed_level_certificate"].pk,
        "bureau": w.own["claim"].bureau_id,
    }


PAYEE_BODY = {"payee_kind": "bank", "bank_name": "中国工商银行杭州分行", "account": "6222021234567890123"}

# name: (method, path, object kind in the path or None, body(world, side) or None)
ENDPOINTS = {
    "me": ("get", "me/", None, None),
    "plans-list": ("get", "plans/", "plan", None),
    "plans-retrieve": ("get", "plans/{id}/", "plan", None),
    "plans-create": ("post", "plans/", None, _plan_body),
    "plans-update": ("patch", "plans/{id}/", "plan_draft", lambda w, s: {"title": "更正后的班名"}),
    "plans-file": ("post", "plans/{id}/file/", "plan_draft", None),
    "plans-accept": ("post", "plans/{id}/accept/", "plan_filed", None),
    "plans-return": ("post", "plans/{id}/return/", "plan_filed", lambda w, s: {"reason": "考核方案不完整"}),
    "public-plans-list": ("get", "public/plans/", "plan", None),
    "public-plans-retrieve": ("get", "public/plans/{id}/", "plan", None),
    "trainees-list": ("get", "trainees/", "trainee", None),
    "trainees-retrieve": ("get", "trainees/{id}/", "trainee", None),
    "trainees-me": ("get", "trainees/me/", None, None),
    "trainees-create": (
        "post",
        "trainees/",
        None,
        lambda w, s: {
            "resident_id": generate_resident_id(area="330106", birth="19950505", sequence=77),
            "name": "孙八",
            "category": "professional",
            "household_city": w.own["trainee"].household_city_id,
        },
    ),
    "trainees-me-payee-account": ("put", "trainees/me/payee-account/", None, lambda w, s: PAYEE_BODY),
    "trainees-payee-account": ("put", "trainees/{id}/payee-account/", "trainee", lambda w, s: PAYEE_BODY),
    "enrolments-list": ("get", "enrolments/", "enrolment", None),
    "enrolments-retrieve": ("get", "enrolments/{id}/", "enrolment", None),
    "enrolments-create": (
        "post",
        "enrolments/",
        None,
        lambda w, s: {"plan": w.side(s)["plan"].pk, "resident_id": w.registered[s].resident_id},
    ),
    "enrolments-hours": (
        "post",
        "enrolments/{id}/hours/",
        "enrolment_uncertified",
        lambda w, s: {"hours_online": "38.5", "hours_offline": "40"},
    ),
    "enrolments-completion": (
        "post",
        "enrolments/{id}/completion/",
        "enrolment_uncertified",
        lambda w, s: {"passed": True, "on": "2024-03-29"},
    ),
    "enrolments-attendance": ("get", "enrolments/{id}/attendance/", "enrolment", None),
    "enrolments-evaluation": (
        "post",
        "enrolments/{id}/evaluation/",
        "enrolment",
        lambda w, s: {"content": 5, "teaching": 4, "organisation": 5, "comment": "实训扎实"},
    ),
    "training-certificates-list": ("get", "training-certificates/", "training_certificate", None),
    "training-certificates-retrieve": ("get", "training-certificates/{id}/", "training_certificate", None),
    "training-certificates-create": (
        "post",
        "training-certificates/",
        None,
        lambda w, s: {"enrolment": w.side(s)["enrolment_uncertified"].pk},
    ),
    "level-assessments-list": ("get", "level-assessments/", "level_assessment", None),
    "level-assessments-retrieve": ("get", "level-assessments/{id}/", "level_assessment", None),
    "level-assessments-create": (
        "post",
        "level-assessments/",
        None,
        lambda w, s: {
            "training_certificate": w.side(s)["training_certificate_untested"].pk,
            "assessed_on": "2024-05-20",
            "theory_score": "88.0",
            "theory_passed": True,
            "practical_score": "75.5",
            "practical_passed": True,
        },
    ),
    "level-certificates-list": ("get", "level-certificates/", "level_certificate", None),
    "level-certificates-retrieve": ("get", "level-certificates/{id}/", "level_certificate", None),
    "level-certificates-create": (
        "post",
        "level-certificates/",
        None,
        lambda w, s: {"assessment": w.side(s)["level_assessment_uncertified"].pk},
    ),
    "claims-list": ("get", "claims/", "claim", None),
    "claims-retrieve": ("get", "claims/{id}/", "claim", None),
    "claims-create": ("post", "claims/", None, _claim_body),
    "claims-check": ("post", "claims/check/", None, _claim_body),
    "claims-withdraw": ("post", "claims/{id}/withdraw/", "claim", None),
    "claims-approve": ("post", "claims/{id}/approve/", "claim", None),
    "claims-reject": ("post", "claims/{id}/reject/", "claim", lambda w, s: {"reason": "证书信息与身份不符"}),
    "claims-mark-paid": (
        "post",
        "claims/{id}/mark-paid/",
        "claim_approved",
        lambda w, s: {"paid_on": "2024-06-03", "amount": "2200.00", "voucher_number": "PZ-2024-0601"},
    ),
    "messages-list": ("get", "messages/", "message", None),
    "messages-retrieve": ("get", "messages/{id}/", "message", None),
    "messages-read": ("post", "messages/{id}/read/", "message", None),
    "messages-read-all": ("post", "messages/read-all/", None, None),
    "claim-documents-list": ("get", "claim-documents/", "claim_document", None),
    "claim-documents-retrieve": ("get", "claim-documents/{id}/", "claim_document", None),
    "claim-documents-file": ("get", "claim-documents/{id}/file/", "claim_document", None),
    "claim-documents-create": (
        "post",
        "claim-documents/",
        None,
        lambda w, s: {
            "kind": "residence_permit",
            "file": SimpleUploadedFile("居住证.pdf", b"%PDF-1.4 scan"),
            "claim": w.side(s)["claim"].pk,
        },
    ),
    "reports-list": ("get", "reports/", "report", None),
    "reports-retrieve": ("get", "reports/{id}/", "report", None),
    "reports-create": (
        "post",
        "reports/",
        None,
        lambda w, s: {"kind": "claims", "period_kind": "month", "period_start": "2024-05-01"},
    ),
    "reports-download": ("get", "reports/{id}/download/", "report", None),
    "reports-pdf": ("get", "reports/{id}/pdf/", "report", None),
    "reference-cities-list": ("get", "reference/cities/", None, None),
    "reference-cities-retrieve": ("get", "reference/cities/{id}/", "city", None),
    "reference-bureaus-list": ("get", "reference/bureaus/", None, None),
    "reference-bureaus-retrieve": ("get", "reference/bureaus/{id}/", "bureau", None),
    "reference-occupations-list": ("get", "reference/occupations/", None, None),
    "reference-occupations-retrieve": ("get", "reference/occupations/{id}/", "occupation", None),
    "reference-training-institutions-list": ("get", "reference/training-institutions/", None, None),
    "reference-training-institutions-retrieve": (
        "get",
        "reference/training-institutions/{id}/",
        "institution",
        None,
    ),
    "reference-evaluation-institutions-list": ("get", "reference/evaluation-institutions/", None, None),
    "reference-evaluation-institutions-retrieve": (
        "get",
        "reference/evaluation-institutions/{id}/",
        "evaluator",
        None,
    ),
}

# fmt: off
#                                provincial     bureau          institution     evaluator       trainee         anonymous
MATRIX = {
    "me":                           [(200, NA),     (200, NA),      (200, NA),      (200, NA),      (200, NA),      (401, NA)],
    "plans-list":                   [(SEES, SEES),  (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (403, 403),     (401, 401)],
    "plans-retrieve":               [(200, 200),    (200, 404),     (200, 404),     (200, 404),     (403, 403),     (401, 401)],
    "plans-create":                 [(403, NA),     (403, NA),      (201, NA),      (403, NA),      (403, NA),      (401, NA)],
    "plans-update":                 [(403, 403),    (403, 403),     (200, 404),     (403, 403),     (403, 403),     (401, 401)],
    "plans-file":                   [(403, 403),    (403, 403),     (200, 404),     (403, 403),     (403, 403),     (401, 401)],
    # Provincial staff decide only plans filed with the province (provincial universities).
    "plans-accept":                 [(403, 403),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    "plans-return":                 [(403, 403),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    "public-plans-list":            [(SEES, SEES),  (SEES, SEES),   (SEES, SEES),   (SEES, SEES),   (SEES, SEES),   (SEES, SEES)],
    "public-plans-retrieve":        [(200, 200),    (200, 200),     (200, 200),     (200, 200),     (200, 200),     (200, 200)],
    "trainees-list":                [(SEES, SEES),  (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (401, 401)],
    "trainees-retrieve":            [(200, 200),    (200, 404),     (200, 404),     (200, 404),     (200, 404),     (401, 401)],
    "trainees-me":                  [(403, NA),     (403, NA),      (403, NA),      (403, NA),      (200, NA),      (401, NA)],
    "trainees-create":              [(403, NA),     (403, NA),      (201, NA),      (403, NA),      (403, NA),      (401, NA)],
    "trainees-me-payee-account":    [(403, NA),     (403, NA),      (403, NA),      (403, NA),      (200, NA),      (401, NA)],
    "trainees-payee-account":       [(200, 200),    (403, 403),     (200, 404),     (403, 403),     (403, 403),     (401, 401)],
    "enrolments-list":              [(SEES, SEES),  (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (401, 401)],
    "enrolments-retrieve":          [(200, 200),    (200, 404),     (200, 404),     (200, 404),     (200, 404),     (401, 401)],
    "enrolments-create":            [(403, 403),    (403, 403),     (201, 400),     (403, 403),     (403, 403),     (401, 401)],
    "enrolments-hours":             [(403, 403),    (403, 403),     (200, 404),     (403, 403),     (403, 403),     (401, 401)],
    "enrolments-completion":        [(403, 403),    (403, 403),     (200, 404),     (403, 403),     (403, 403),     (401, 401)],
    "enrolments-attendance":        [(200, 200),    (200, 404),     (200, 404),     (200, 404),     (200, 404),     (401, 401)],
    # 评教: the trainee rates their own class, once.
    "enrolments-evaluation":        [(403, 403),    (403, 403),     (403, 403),     (403, 403),     (201, 404),     (401, 401)],
    "training-certificates-list":   [(SEES, SEES),  (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (401, 401)],
    "training-certificates-retrieve": [(200, 200),  (200, 404),     (200, 404),     (200, 404),     (200, 404),     (401, 401)],
    "training-certificates-create": [(403, 403),    (403, 403),     (201, 400),     (403, 403),     (403, 403),     (401, 401)],
    "level-assessments-list":       [(SEES, SEES),  (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (401, 401)],
    "level-assessments-retrieve":   [(200, 200),    (200, 404),     (200, 404),     (200, 404),     (200, 404),     (401, 401)],
    "level-assessments-create":     [(403, 403),    (403, 403),     (403, 403),     (201, 400),     (403, 403),     (401, 401)],
    "level-certificates-list":      [(SEES, SEES),  (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (SEES, HIDDEN), (401, 401)],
    "level-certificates-retrieve":  [(200, 200),    (200, 404),     (200, 404),     (200, 404),     (200, 404),     (401, 401)],
    "level-certificates-create":    [(403, 403),    (403, 403),     (403, 403),     (201, 400),     (403, 403),     (401, 401)],
    "claims-list":                  [(SEES, SEES),  (SEES, HIDDEN), (403, 403),     (403, 403),     (SEES, HIDDEN), (401, 401)],
    "claims-retrieve":              [(200, 200),    (200, 404),     (403, 403),     (403, 403),     (200, 404),     (401, 401)],
    "claims-create":                [(403, 403),    (403, 403),     (403, 403),     (403, 403),     (201, 400),     (401, 401)],
    "claims-check":                 [(403, 403),    (403, 403),     (403, 403),     (403, 403),     (200, 400),     (401, 401)],
    "claims-withdraw":              [(403, 403),    (403, 403),     (403, 403),     (403, 403),     (200, 404),     (401, 401)],
    "claims-approve":               [(403, 403),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    "claims-reject":                [(403, 403),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    "claims-mark-paid":             [(403, 403),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    # Messages are personal: only the recipient sees one, whatever the role.
    "messages-list":                [(HIDDEN, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, HIDDEN), (SEES, HIDDEN), (401, 401)],
    "messages-retrieve":            [(404, 404),    (404, 404),     (404, 404),     (404, 404),     (200, 404),     (401, 401)],
    "messages-read":                [(404, 404),    (404, 404),     (404, 404),     (404, 404),     (200, 404),     (401, 401)],
    "messages-read-all":            [(200, NA),     (200, NA),      (200, NA),      (200, NA),      (200, NA),      (401, NA)],
    # Identity papers: the trainee and the claim's bureau only; to everyone else they do not exist.
    "claim-documents-list":         [(HIDDEN, HIDDEN), (SEES, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, HIDDEN), (SEES, HIDDEN), (401, 401)],
    "claim-documents-retrieve":     [(404, 404),    (200, 404),     (404, 404),     (404, 404),     (200, 404),     (401, 401)],
    "claim-documents-file":         [(404, 404),    (200, 404),     (404, 404),     (404, 404),     (200, 404),     (401, 401)],
    "claim-documents-create":       [(403, 403),    (403, 403),     (403, 403),     (403, 403),     (201, 400),     (401, 401)],
    "reports-list":                 [(SEES, SEES),  (SEES, HIDDEN), (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    "reports-retrieve":             [(200, 200),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    "reports-create":               [(202, NA),     (202, NA),      (403, NA),      (403, NA),      (403, NA),      (401, NA)],
    "reports-download":             [(200, 200),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    "reports-pdf":                  [(200, 200),    (200, 404),     (403, 403),     (403, 403),     (403, 403),     (401, 401)],
    # Published catalogues: open to everyone, in every city.
    "reference-cities-list":        [(200, NA)] * 6,
    "reference-cities-retrieve":    [(200, 200)] * 6,
    "reference-bureaus-list":       [(200, NA)] * 6,
    "reference-bureaus-retrieve":   [(200, 200)] * 6,
    "reference-occupations-list":   [(200, NA)] * 6,
    "reference-occupations-retrieve": [(200, 200)] * 6,
    "reference-training-institutions-list": [(200, NA)] * 6,
    "reference-training-institutions-retrieve": [(200, 200)] * 6,
    "reference-evaluation-institutions-list": [(200, NA)] * 6,
    "reference-evaluation-institutions-retrieve": [(200, 200)] * 6,
}
# fmt: on

CASES = [
    pytest.param(endpoint, role, own, other, id=f"{endpoint}-{role}")
    for endpoint, row in MATRIX.items()
    for role, (own, other) in zip(ROLES, row, strict=True)
]


def test_the_matrix_covers_every_endpoint_of_the_schema(client):
    """Every operation of the published schema has a row (the matrix cannot fall behind)."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    published = {
        (method, path.removeprefix("/api/v1/"))
        for path, item in schema["paths"].items()
        for method in item
        if not path.startswith("/api/v1/auth/")
    }
    in_matrix = {(method, path.replace("{id}", "{id}")) for method, path, _kind, _body in ENDPOINTS.values()}
    assert published == in_matrix
    assert set(MATRIX) == set(ENDPOINTS)


def _call(client, endpoint, world, side):
    method, path, kind, body = ENDPOINTS[endpoint]
    url = "/api/v1/" + path
    if "{id}" in path:
        url = url.replace("{id}", str(world.side(side)[kind].pk))
    data = body(world, side) if body is not None else None
    # A body carrying a file (a document upload) goes as multipart, like a browser's form.
    fmt = "multipart" if data and any(hasattr(v, "read") for v in data.values()) else "json"
    return (
        getattr(client, method)(url, data, format=fmt) if data is not None else getattr(client, method)(url)
    )


def _check(response, expected, *, endpoint, world, side):
    if expected in (SEES, HIDDEN):
        assert response.status_code == 200, response.content
        kind = ENDPOINTS[endpoint][2]
        listed = {row["id"] for row in response.json()["results"]}
        assert (world.side(side)[kind].pk in listed) == (expected == SEES)
        return
    assert response.status_code == expected, response.content
    if expected >= 400:
        body = response.json()
        assert set(body) == {"code", "message", "detail"}
        if expected == 404:
            assert body["code"] == "not_found"
        if expected == 400:
            # An object outside the scope is a field naming nothing, like a missing id.
            assert body["code"] == "validation_error"


@pytest.mark.parametrize(("endpoint", "role", "own", "other"), CASES)
def test_permission_matrix(request, api_client_of, world, endpoint, role, own, other):
    persona = PERSONA[role]
    client = api_client_of(request.getfixturevalue(persona) if persona else None)
    # The other side first: refusals change nothing, so the own call still finds its object
    # in its original state.
    if other != NA:
        _check(_call(client, endpoint, world, "other"), other, endpoint=endpoint, world=world, side="other")
    if own != NA:
        _check(_call(client, endpoint, world, "own"), own, endpoint=endpoint, world=world, side="own")


def test_provincial_staff_decide_plans_filed_with_the_province(api_client_of, world, provincial_staff):
    from institutions.models import PlanStatus
    from institutions.tests.factories import TrainingInstitutionFactory, TrainingPlanFactory

    university = TrainingInstitutionFactory(
        city=world.own["plan"].institution.city, name="杭州电子科技大学", is_provincial_university=True
    )
    plan = TrainingPlanFactory(institution=university, status=PlanStatus.FILED)
    assert plan.filing_authority.is_province
    response = api_client_of(provincial_staff).post(f"/api/v1/plans/{plan.pk}/accept/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"


def test_a_trainee_cannot_see_another_trainees_claim_or_record(api_client_of, world):
    other_trainee = api_client_of(world.other["trainee"].user)
    assert other_trainee.get(f"/api/v1/claims/{world.own['claim'].pk}/").status_code == 404
    assert other_trainee.get(f"/api/v1/trainees/{world.own['trainee'].pk}/").status_code == 404
    own = other_trainee.get(f"/api/v1/claims/{world.other['claim'].pk}/")
    assert own.status_code == 200


def test_a_date_outside_the_plan_is_refused_not_a_server_error(api_client_of, world, institution_staff):
    enrolment = world.own["enrolment_uncertified"]
    response = api_client_of(institution_staff).post(
        f"/api/v1/enrolments/{enrolment.pk}/completion/",
        {"passed": True, "on": (enrolment.plan.start_date - datetime.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_date"
