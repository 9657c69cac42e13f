"""Request plumbing every response needs: a request id, and Secure cookies over TLS."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.conf import settings

# The id of the request being served, for log records written anywhere beneath it.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# A proxy's id is kept only if it looks like one: a header is client input, and it is logged.
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Gives every request an id: in ``request.request_id``, the ``X-Request-ID`` response
    header, every log line (``RequestIdFilter``) and the body of an API 500, so that a user
    who reports an error hands the operator the line to look for."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        token = current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class SecureCookiesOverTlsMiddleware:
    """Marks the session and CSRF cookies Secure on any response to a request that came over
    TLS (directly, or via a proxy named by SECURE_PROXY_SSL_HEADER).

    SESSION_COOKIE_SECURE and CSRF_COOKIE_SECURE are all-or-nothing settings; with them off,
    `make run` works over plain http, and this still keeps the cookies off plain http once
    a user has reached the site over https."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.is_secure():
            for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
                if name in response.cookies:
                    response.cookies[name]["secure"] = True
        return response
