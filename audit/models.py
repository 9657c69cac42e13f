"""The access log (访问审计) and the heads of the audit hash chains."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.chain import GENESIS, ChainHead, HashChainedModel  # noqa: F401  (ChainHead lives with the chain)
from core.pii_fields import BlindIndexField, EncryptedCharField


def normalize_address(value: str) -> str:
    return value.strip().lower()


class AccessKind(models.TextChoices):
    LOGIN = "login", _("Login")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOGOUT = "logout", _("Logout")
    VIEW_UNMASKED = "view_unmasked", _("Display of an unmasked value")
    EXPORT = "export", _("Export")
    DOWNLOAD = "download", _("Download")
    PERMISSION_CHANGE = "permission_change", _("Permission change")


class Channel(models.TextChoices):
    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    WEB = "web", _("Trainee service")
    SYSTEM = "system", _("System or command")


class AccessLog(HashChainedModel):
    """Who accessed what personal information, or changed who may: append-only, hash-chained.

    The address is personal information too: it is stored encrypted (SM4-GCM) with a blind
    index, so provincial staff can still search for one address (the demonstration table of
    ``core/pii_fields.py``).
    """

    chain_fields = (
        "at",
        "kind",
        "actor_id",
        "username",
        "address",
        "channel",
        "object_type",
        "object_id",
        "what",
        "row_count",
    )

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AccessKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # As typed at login (a failed login names no user) and kept if the user is renamed.
    username = models.CharField(_("username"), max_length=150, blank=True)
    address = EncryptedCharField(_("address"), max_length=64, blank=True)
    address_index = BlindIndexField(source="address", domain="ip_address", normalizer=normalize_address)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    what = models.CharField(_("what"), max_length=300, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)

    class Meta(HashChainedModel.Meta):
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-chain_seq"]
        indexes = [
            models.Index(fields=["kind", "at"], name="audit_accesslog_kind_at_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_accesslog_object_idx"),
            models.Index(fields=["address_index"], name="audit_accesslog_address_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.username or '-'} {self.get_kind_display()}"
        )


class AccessLogArchive(models.Model):
    """A file holding access-log rows moved out of the table after the retention period.

    The rows are written to the storage as JSON lines (every column, the address decrypted
    as the chain hashes it) with their chain positions and hashes, so the archived part of the
    chain can still be verified; ``file_sm3`` guards the file itself. Append-only.
    """

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    file = models.CharField(_("file"), max_length=255)
    first_seq = models.BigIntegerField(_("first position"))
    last_seq = models.BigIntegerField(_("last position"))
    last_hash = models.CharField(_("hash at the last position"), max_length=64)
    row_count = models.PositiveIntegerField(_("rows"))
    oldest_at = models.DateTimeField(_("oldest row"))
    newest_at = models.DateTimeField(_("newest row"))
    file_sm3 = models.CharField(_("file digest (SM3)"), max_length=64)

    class Meta:
        verbose_name = _("access log archive")
        verbose_name_plural = _("access log archives")
        ordering = ["-last_seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["last_seq"],
                name="audit_accesslogarchive_last_seq_unique",
                violation_error_message=_("An archive file already ends at this position."),
            ),
            models.CheckConstraint(
                condition=models.Q(first_seq__lte=models.F("last_seq")),
                name="audit_accesslogarchive_range",
                violation_error_message=_("An archive's first position cannot be after its last."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file} ({self.first_seq}-{self.last_seq})"
