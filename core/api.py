"""One error format for the whole API: ``{"code", "message", "detail"}``.

``ApplicationError`` renders with its own code; DRF's errors keep their status and get a
stable code (``validation_error`` with per-field detail, ``not_authenticated``, ...);
Django's ``ValidationError`` from a model's ``full_clean()`` is a 400, never a 500.

Beyond DRF's own exceptions the handler also covers what a service may let escape on bad
or racing input, so that nothing answers 500 for it: a missing related row
(``ObjectDoesNotExist``, e.g. a trainee login without a trainee record) is a 404, and an
``IntegrityError`` (a unique or check constraint that a concurrent request won) is a 409.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.errors import ApplicationError

logger = logging.getLogger(__name__)

# Django names errors that belong to no single field "__all__"; DRF calls them
# "non_field_errors". Clients see one name.
NON_FIELD_ERRORS = "non_field_errors"


def _django_validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {
            (NON_FIELD_ERRORS if field == "__all__" else field): [str(m) for e in errors for m in e.messages]
            for field, errors in exc.error_dict.items()
        }
    return {NON_FIELD_ERRORS: [str(m) for m in exc.messages]}


def _validation_detail(data):
    """DRF's validation detail, always keyed by field (a bare list belongs to no field)."""
    if isinstance(data, dict):
        return data
    return {NON_FIELD_ERRORS: data if isinstance(data, list) else [data]}


def error_body(code: str, message, detail=None) -> dict:
    return {"code": code, "message": str(message), "detail": detail}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        set_rollback()
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(
            error_body("validation_error", _("The input is not valid."), _django_validation_detail(exc)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IntegrityError):
        # A constraint refused the write: almost always a concurrent request that won the
        # same race (two enrolments, two claims on one certificate). The services check
        # first, so this is the loser's answer, not a programming error to hide.
        logger.info("integrity error answered as 409: %s", exc)
        set_rollback()
        return Response(
            error_body("conflict", _("The record was changed by another request; please try again.")),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DataError):
        # A value the database cannot store (out of range, too long) that validation missed.
        logger.warning("data error answered as 400: %s", exc)
        set_rollback()
        return Response(
            error_body("validation_error", _("The input is not valid."), {NON_FIELD_ERRORS: [str(exc)]}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", _("The input is not valid."), _validation_detail(response.data))
    else:
        detail = getattr(exc, "detail", None)
        code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
        body = error_body(str(code), detail if detail is not None else exc)
    response.data = body
    return response


@csrf_exempt
def not_found_view(request, *args, **kwargs):
    """The JSON 404 for any URL under /api/v1/ that names no endpoint (Django's is HTML).

    CSRF-exempt like every DRF view: a POST to a wrong URL must get this 404, not the
    CSRF failure page (it changes nothing, so there is nothing to protect)."""
    return JsonResponse(error_body("not_found", exceptions.NotFound.default_detail), status=404)
