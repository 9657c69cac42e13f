"""Text messages (SMS) through a pluggable backend, chosen by the ``SMS_BACKEND`` setting.

Core knows no domain: callers pass a phone number and the finished text. The default
backend writes each message to the log (development and the demo: the one-time code is read
from there); tests use :class:`LocmemBackend`, whose ``outbox`` they read; production names a
backend class of its own that talks to the operator's gateway.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

logger = logging.getLogger("core.sms")


@dataclass(frozen=True)
class Sms:
    phone: str
    text: str


class BaseBackend:
    def send(self, message: Sms) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class LogBackend(BaseBackend):
    """Write the message to the ``core.sms`` logger at INFO (development, the demo)."""

    def send(self, message: Sms) -> None:
        logger.info("SMS to %s: %s", message.phone, message.text)


# Shared by every LocmemBackend instance in the process (the live server of the browser
# tests runs in the test's process, so the test reads what the server sent).
outbox: list[Sms] = []
_outbox_lock = threading.Lock()


class LocmemBackend(BaseBackend):
    """Keep messages in ``core.sms.outbox`` (tests)."""

    def send(self, message: Sms) -> None:
        with _outbox_lock:
            outbox.append(message)


def backend_path() -> str:
    return getattr(settings, "SMS_BACKEND", "core.sms.LogBackend")


@checks.register(checks.Tags.compatibility)
def check_backend(app_configs=None, **kwargs):
    """SMS_BACKEND must name a backend class: a typo would otherwise surface only when the
    first one-time code is sent. Under ``check --deploy``, the log backend is a warning: it
    sends nothing and writes every code and phone number to the log."""
    path = backend_path()
    try:
        backend = import_string(path)
    except ImportError as exc:
        return [checks.Error(f"SMS_BACKEND {path!r} cannot be imported: {exc}", id="core.E201")]
    if not (isinstance(backend, type) and issubclass(backend, BaseBackend)):
        return [checks.Error(f"SMS_BACKEND {path!r} is not a core.sms.BaseBackend subclass.", id="core.E202")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_backend_sends(app_configs=None, **kwargs):
    try:
        backend = import_string(backend_path())
    except ImportError:
        return []  # core.E201 says so
    if isinstance(backend, type) and issubclass(backend, LogBackend):
        return [
            checks.Warning(
                "SMS_BACKEND is the log backend: no text message is sent (activation codes, "
                "answers to applications) and every code and phone number is written to the log.",
                hint="Set SMS_BACKEND to the class that sends through your SMS gateway (docs/deploy.md).",
                id="core.W201",
            )
        ]
    return []


def get_backend() -> BaseBackend:
    return import_string(backend_path())()


def send_sms(*, phone: str, text: str) -> Sms:
    """Send ``text`` to ``phone`` now. Callers inside a transaction send from
    ``transaction.on_commit`` so that nothing is announced that was then rolled back."""
    message = Sms(phone=str(phone), text=str(text))
    get_backend().send(message)
    return message
