"""The API's JSON parser: refuses, as a 400/413 in the usual error body, what Python's
``json`` would turn into a 500 further on.

- ``1e999`` parses to ``inf`` and ``NaN``/``Infinity`` are accepted by ``json``; an infinite
  "id" then overflowed in the primary-key lookup. Numbers must be finite and integers fit
  in 64 bits (every integer column is at most a bigint).
- JSON nested deeper than ``API_JSON_MAX_DEPTH``: the recursive decoder raised
  RecursionError at about 1,000 levels; no request of ours nests more than a few.
- A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused before it is read (DRF reads the
  stream itself, past Django's check on ``request.body``).
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

INT64_MAX = 2**63 - 1


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "request_too_large"


class _Refused(ValueError):
    pass


def _parse_int(text: str) -> int:
    # json hands the digits over as text; bound the length before int() does any work.
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > INT64_MAX:
        raise _Refused(_("A number in the request is too large."))
    return value


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(_("A number in the request is too large."))
    return value


def _parse_constant(name: str):
    raise _Refused(_("NaN and Infinity are not valid JSON numbers."))


def _depth(value) -> int:
    """Nesting depth without recursion (the decoder already bounded it by the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            declared = 0
        if limit is not None and declared > limit:
            raise RequestTooLarge(
                _("The request body is larger than %(limit)d bytes; send less data at once.")
                % {"limit": limit}
            )
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge(
                _("The request body is larger than %(limit)d bytes; send less data at once.")
                % {"limit": limit}
            )
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
            data = json.loads(
                text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
            )
        except _Refused as exc:
            raise ParseError(str(exc)) from None
        except RecursionError:
            raise ParseError(_("The JSON is nested too deeply.")) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(_("The request body is not valid JSON: %(error)s") % {"error": exc}) from None
        if _depth(data) > settings.API_JSON_MAX_DEPTH:
            raise ParseError(_("The JSON is nested too deeply."))
        return data
