"""Schemathesis against the published OpenAPI schema, in-process, with data present.

Every operation of ``/api/schema/`` is called with generated input as the persona it is
meant for (a token per persona), and every response must be no server error, have a
documented status code and content type, and match the documented body. Half the calls
have the ids in the path and body swapped for ids of real rows in the caller's scope, so
the services are reached with generated data, not just the "no such object" answers.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application

pytestmark = [pytest.mark.schema, pytest.mark.django_db]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Who calls each operation: the role the endpoint serves (the matrix tests the others).
# The first matching (method, path prefix) wins; None is an anonymous caller.
CALLERS = [
    ("*", "/api/v1/auth/", None),
    ("*", "/api/v1/public/", None),
    ("*", "/api/v1/reference/", None),
    ("GET", "/api/v1/me/", "trainee"),
    ("POST", "/api/v1/plans/{id}/accept/", "bureau"),
    ("POST", "/api/v1/plans/{id}/return/", "bureau"),
    ("GET", "/api/v1/plans/", "bureau"),
    ("*", "/api/v1/plans/", "institution"),
    ("GET", "/api/v1/trainees/me/", "trainee"),
    ("*", "/api/v1/trainees/", "institution"),
    ("POST", "/api/v1/enrolments/{id}/evaluation/", "trainee"),
    ("*", "/api/v1/enrolments/", "institution"),
    ("*", "/api/v1/claim-documents/", "trainee"),
    ("GET", "/api/v1/training-certificates/", "trainee"),
    ("*", "/api/v1/training-certificates/", "institution"),
    ("*", "/api/v1/level-", "evaluator"),
    ("POST", "/api/v1/claims/{id}/approve/", "bureau"),
    ("POST", "/api/v1/claims/{id}/reject/", "bureau"),
    ("POST", "/api/v1/claims/{id}/mark-paid/", "bureau"),
    ("GET", "/api/v1/claims/", "bureau"),
    ("*", "/api/v1/claims/", "trainee"),
    ("GET", "/api/v1/reports/", "provincial"),
    ("*", "/api/v1/reports/", "bureau"),
    ("*", "/api/v1/messages/", "trainee"),
]

PERSONAS = {
    "provincial": "provincial_staff",
    "bureau": "hangzhou_reviewer",
    "institution": "institution_staff",
    "evaluator": "evaluation_staff",
    "trainee": "trainee_user",
}

# Which row of the world a path's {id} names, by the path's first segment.
PATH_KINDS = {
    "plans": "plan",
    "public": "plan",
    "trainees": "trainee",
    "enrolments": "enrolment_uncertified",
    "training-certificates": "training_certificate",
    "level-assessments": "level_assessment",
    "level-certificates": "level_certificate",
    "claims": "claim",
    "reports": "report",
    "messages": "message",
    "claim-documents": "claim_document",
}
# Body fields that name a row, and the row of the world they name.
BODY_KINDS = {
    "plan": "plan",
    "enrolment": "enrolment_uncertified",
    "training_certificate": "unclaimed_training_certificate",
    "level_certificate": "unclaimed_level_certificate",
    "assessment": "level_assessment_uncertified",
}


def caller_for(method: str, path: str) -> str | None:
    # A method the operation does not have (schemathesis tries TRACE, PUT...) goes as the
    # operation's first caller.
    for want_method, prefix, role in CALLERS:
        if want_method in ("*", method.upper()) and path.startswith(prefix):
            return role
    for _method, prefix, role in CALLERS:
        if path.startswith(prefix):
            return role
    raise AssertionError(f"no caller for {method} {path}: add a row to CALLERS")


# Loaded at collection, from the published endpoint, through the WSGI application (no
# server). ``schemathesis.pytest.from_fixture`` would load it per test, but its lazy loader
# does not run under pytest 9 (it writes ``Function._nodeid``, which pytest 9 removed).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    application,
    # The coverage phase also calls every operation with methods it does not have; of those
    # only DELETE matters here (nothing is ever deleted: it must answer 405, not act).
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": ["DELETE"]}}}),
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # The calls run through the WSGI application in this thread, inside the test's
    # transaction: Django must not close the connection at the end of each request as it
    # does in production (the test client disconnects the same signal handler).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(request, world):
    return {
        role: Token.objects.create(user=request.getfixturevalue(name)).key for role, name in PERSONAS.items()
    }


_turn = itertools.count()


def _use_real_ids(case, world) -> None:
    kind = PATH_KINDS.get(case.path.removeprefix("/api/v1/").split("/")[0])
    if case.path_parameters and "id" in case.path_parameters and kind:
        case.path_parameters["id"] = world.own[kind].pk
    if isinstance(case.body, dict):
        for name, kind in BODY_KINDS.items():
            if name in case.body:
                case.body[name] = world.own[kind].pk
        if "bureau" in case.body:
            case.body["bureau"] = world.own["claim"].bureau_id


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    # The same cases on every run: a CI failure reproduces locally.
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, world, tokens):
    role = caller_for(case.method, case.path)
    headers = {"Authorization": f"Token {tokens[role]}"} if role else {}
    if next(_turn) % 2 == 0:
        _use_real_ids(case, world)
    case.call_and_validate(headers=headers, checks=CHECKS)


# ----------------------------------------------------------------------------- hostile numbers
# Generated cases conform to the schema: an integer field gets an integer, so the run above
# never sends what a JSON parser turns into something else (``1e999`` is a float, infinity;
# ``NaN`` and ``Infinity`` parse too). This phase walks the same published schema and sends
# every integer or number it declares (body properties, path ids, query parameters) as each
# of these, raw, as the operation's own caller: every answer must be a 4xx error body.
HOSTILE_JSON_NUMBERS = [
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "1e308",
    "18446744073709551616",
    "1.5",
    '"1e999"',
]
HOSTILE_PATH_IDS = ["1e999", "99999999999999999999999", "-1", "0x10", "%00"]


def _resolve(node, raw):
    while isinstance(node, dict) and "$ref" in node:
        target = raw
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _number_properties(body_schema, raw) -> list[str]:
    body_schema = _resolve(body_schema, raw)
    names = []
    for name, prop in (body_schema.get("properties") or {}).items():
        prop = _resolve(prop, raw)
        kinds = {prop.get("type")} | {
            _resolve(p, raw).get("type") for p in prop.get("oneOf", []) + prop.get("allOf", [])
        }
        if kinds & {"integer", "number"} and not prop.get("readOnly"):
            names.append(name)
    return names


def hostile_requests():
    raw = schema.raw_schema
    for path, item in raw["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch"}:
                continue
            url_template = path
            has_id = "{id}" in path
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                for field in _number_properties(content["application/json"]["schema"], raw):
                    for token in HOSTILE_JSON_NUMBERS:
                        yield method, url_template.replace("{id}", "1"), "{" + f'"{field}": {token}' + "}"
            for parameter in operation.get("parameters", []):
                parameter = _resolve(parameter, raw)
                kind = _resolve(parameter.get("schema", {}), raw).get("type")
                if parameter.get("in") == "query" and kind in {"integer", "number"}:
                    for token in ("1e999", "99999999999999999999999", "NaN"):
                        yield "get", url_template.replace("{id}", "1") + f"?{parameter['name']}={token}", None
            if has_id:
                for token in HOSTILE_PATH_IDS:
                    yield method, url_template.replace("{id}", token), "{}" if method != "get" else None


def test_every_number_the_schema_declares_survives_hostile_values(world, tokens):
    from django.test import Client

    sent = 0
    for method, url, body in hostile_requests():
        role = caller_for(method, url.split("?")[0])
        client = Client(raise_request_exception=False)
        headers = {"HTTP_AUTHORIZATION": f"Token {tokens[role]}"} if role else {}
        if body is None:
            response = client.generic(method.upper(), url, **headers)
        else:
            response = client.generic(method.upper(), url, body, content_type="application/json", **headers)
        sent += 1
        assert response.status_code < 500, (method, url, body, response.content[:300])
        if 400 <= response.status_code < 500:
            assert response["Content-Type"].startswith("application/json"), (
                method,
                url,
                response["Content-Type"],
            )
            assert set(response.json()) == {"code", "message", "detail"}, (
                method,
                url,
                response.content[:300],
            )
    # The schema declares dozens of numeric inputs; none found means the walk is broken.
    assert sent > 100, sent
