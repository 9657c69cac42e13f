"""The error bodies of the OpenAPI schema, and the hook that documents them on every operation.

Every error the API returns has the shape ``{"code", "message", "detail"}`` (``core.api``).
Rather than repeat ``responses={400: ..., 401: ..., ...}`` on every view, a postprocessing
hook adds the error responses an operation can really produce:

- 400 ``validation_error`` (detail names the fields) or a service's own code, on every
  operation that takes a body or query parameters, and on every write;
- 401 for a missing or bad token, 403 for a role the endpoint does not serve, 404 for an
  object outside the caller's scope (or a page past the end of a list), on every operation;
- 409 on every write (a state that changed under the request);
- 415 where there is a request body.

A view documents anything more specific itself with the ``*_RESPONSE`` objects below (the
refused claim's 400, the login throttle's 429), which the hook leaves alone; a view whose
errors are fewer than the defaults lists them exactly in the ``x-errors`` extension.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR_REF = {"$ref": "#/components/schemas/ValidationError"}
CLAIM_INELIGIBLE_REF = {"$ref": "#/components/schemas/ClaimIneligibleError"}

ERROR_COMPONENTS = {
    "Error": {
        "type": "object",
        "description": "The body of every error response.",
        "properties": {
            "code": {"type": "string", "description": "Stable machine code, e.g. `not_found`."},
            "message": {"type": "string", "description": "Human message (Chinese)."},
            "detail": {"description": "More detail, or null; its shape depends on the code."},
        },
        "required": ["code", "message", "detail"],
    },
    "ValidationError": {
        "type": "object",
        "description": "Bad input: `detail` maps each field (or `non_field_errors`) to its messages.",
        "properties": {
            "code": {"type": "string", "enum": ["validation_error"]},
            "message": {"type": "string"},
            "detail": {"type": "object", "additionalProperties": {}},
        },
        "required": ["code", "message", "detail"],
    },
    "RuleFailure": {
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "description": "The rule's code (SPEC.md, claim rules).",
                "example": "annual_limit",
            },
            "title": {"type": "string", "description": "规则名称（中文）。", "example": "每年不超过三次"},
            "clause": {"type": "string", "description": "规则所依据的政策原文。"},
            "message": {"type": "string", "description": "未通过的原因（中文）。"},
        },
        "required": ["code", "message"],
    },
    "ClaimIneligibleError": {
        "type": "object",
        "description": "A refused claim: one entry in `detail.rules` per failed rule.",
        "properties": {
            "code": {"type": "string", "enum": ["claim_ineligible"]},
            "message": {"type": "string"},
            "detail": {
                "type": "object",
                "properties": {
                    "rules": {"type": "array", "items": {"$ref": "#/components/schemas/RuleFailure"}}
                },
                "required": ["rules"],
            },
        },
        "required": ["code", "message", "detail"],
    },
}

BAD_REQUEST_SCHEMA = {"anyOf": [VALIDATION_ERROR_REF, ERROR_REF]}

CLAIM_REFUSED_RESPONSE = OpenApiResponse(
    response={"anyOf": [CLAIM_INELIGIBLE_REF, VALIDATION_ERROR_REF, ERROR_REF]},
    description="The claim is refused (`claim_ineligible`, every failed rule in `detail.rules`) "
    "or the input is not valid (`validation_error`).",
)
THROTTLED_RESPONSE = OpenApiResponse(
    response=ERROR_REF,
    description="Too many failed logins for this username from this address (`throttled`); "
    "the `Retry-After` header says when to try again.",
)
INVALID_CREDENTIALS_RESPONSE = OpenApiResponse(
    response=BAD_REQUEST_SCHEMA,
    description="Missing fields (`validation_error`) or wrong username or password (`invalid_credentials`).",
)

_DESCRIPTIONS = {
    "400": "The input is not valid (`validation_error`, fields named in `detail`) or a rule of the "
    "service refused it (its own `code`).",
    "401": "Not authenticated, or the token is not valid.",
    "403": "The caller's role may not use this endpoint, or may not take this step on the object.",
    "404": "No such object within the caller's scope (objects of other cities, institutions or "
    "trainees answer 404 too), or no such page.",
    "409": "The object is not in a state that allows this step, or another request changed it.",
    "415": "The request body's media type is not supported.",
    "429": "Too many requests; the `Retry-After` header says when to try again.",
}

_WRITE_METHODS = {"post", "put", "patch", "delete"}
_METHODS = _WRITE_METHODS | {"get", "head", "options", "trace"}


def only_api_paths(endpoints):
    """drf-spectacular preprocessing hook: the published schema is the API under /api/v1/.

    Other DRF views (the admin's report download at /reports/...) are not part of it.
    """
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def _error_response(code: str) -> dict:
    schema = BAD_REQUEST_SCHEMA if code == "400" else ERROR_REF
    return {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: error components and per-operation error responses."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_COMPONENTS)
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            has_body = "requestBody" in operation
            has_query = any(p.get("in") == "query" for p in operation.get("parameters", []))
            # A view may name its error codes exactly (``extensions={"x-errors": [...]}``)
            # where the defaults would promise a response it cannot give.
            codes = operation.pop("x-errors", None)
            if codes is None:
                codes = ["401", "403", "404"]
                if method in _WRITE_METHODS or has_body or has_query:
                    codes.append("400")
                if method in _WRITE_METHODS:
                    codes.append("409")
                if has_body:
                    codes.append("415")
            for code in codes:
                # Fill in a response a view declared without a body (``404: None``) too.
                existing = responses.get(code, {})
                if "content" not in existing:
                    responses[code] = _error_response(code)
                    if existing.get("description"):
                        responses[code]["description"] = existing["description"]
            operation["responses"] = dict(sorted(responses.items()))
    return result
