"""Error pages: JSON under /api/ (the API's ``{"code", "message", "detail"}``), Chinese HTML
elsewhere. Wired as Django's handler400/403/404/500 in ``config/urls.py``; they answer
whatever escaped a view, so they show nothing internal, only the request id."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _

from core.api import error_body


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _request_id(request) -> str:
    return getattr(request, "request_id", "")


def bad_request(request, exception=None):
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return JsonResponse(
            error_body(
                "request_too_large",
                _("The request body is larger than %(limit)d bytes; send less data at once.")
                % {"limit": limit},
            ),
            status=413,
        )
    if _is_api(request):
        return JsonResponse(
            error_body("bad_request", _("The request could not be read; check its size and format.")),
            status=400,
        )
    return render(request, "400.html", {"request_id": _request_id(request)}, status=400)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            error_body("permission_denied", _("You do not have permission to perform this action.")),
            status=403,
        )
    return render(request, "403.html", {"request_id": _request_id(request)}, status=403)


def page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return render(request, "404.html", {"request_id": _request_id(request)}, status=404)


def server_error(request):
    request_id = _request_id(request)
    if _is_api(request):
        return JsonResponse(
            error_body(
                "server_error",
                _(
                    "The server could not complete the request. Please try again later; if it "
                    "happens again, give the administrator this request id: %(id)s"
                )
                % {"id": request_id},
                {"request_id": request_id},
            ),
            status=500,
        )
    # Rendered without the request: a context processor (the user, the database) may be what
    # failed.
    return HttpResponseServerError(loader.get_template("500.html").render({"request_id": request_id}))


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: Django's own page is English and talks about cookies to developers."""
    if _is_api(request):
        return JsonResponse(
            error_body(
                "csrf_failed",
                _("The form has expired or came from another site. Reload the page and try again."),
            ),
            status=403,
        )
    return render(
        request,
        "403.html",
        {
            "request_id": _request_id(request),
            "csrf": True,
        },
        status=403,
    )
