"""The one application error type.

Services raise :class:`ApplicationError` (or a subclass) with a stable machine ``code`` and a
human, translatable ``message``; the DRF exception handler (``core.api``) renders it as
``{"code", "message", "detail"}`` and the admin shows ``message`` to the user.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    status_code = 400

    def __init__(self, code: str, message: Any, detail: Any = None, *, status_code: int | None = None):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self.message), "detail": self.detail}


class NotPermitted(ApplicationError):
    status_code = 403


class NotFound(ApplicationError):
    status_code = 404


class Conflict(ApplicationError):
    status_code = 409
