"""What the trainee service keeps of its own: one-time codes, the activation lock per resident
ID, and each trainee's consent to the personal-information notice (with its version)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.identity import mask_resident_id, normalize_resident_id
from core.pii_fields import BlindIndexedSaveMixin, BlindIndexField, EncryptedCharField

# Bump when the notice's text changes (templates/portal/privacy_notice.html): consent is
# recorded per version, so who agreed to which text stays answerable.
PRIVACY_NOTICE_VERSION = "2024-1"


class CodePurpose(models.TextChoices):
    ACTIVATE = "activate", _("Account activation")
    RESET = "reset", _("Password reset")


class OneTimeCode(BlindIndexedSaveMixin, models.Model):
    """A code sent by SMS to the phone on record. Only its hash is kept; the latest unused
    code of a resident ID and purpose is the one that counts."""

    resident_id = EncryptedCharField(_("resident ID number"), max_length=18)
    resident_id_index = BlindIndexField(
        source="resident_id", domain="resident_id", normalizer=normalize_resident_id
    )
    purpose = models.CharField(_("purpose"), max_length=10, choices=CodePurpose.choices)
    code_hash = models.CharField(_("code (hashed)"), max_length=128)
    created_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")
        indexes = [
            models.Index(
                fields=["resident_id_index", "purpose", "-created_at"], name="portal_code_lookup_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="portal_onetimecode_expires_after_sent",
                violation_error_message=_("A code must expire after it is sent."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M}"


class ActivationGuard(BlindIndexedSaveMixin, models.Model):
    """Wrong codes and the 15-minute lock, per resident ID (whether or not such a person
    exists, so that the lock itself reveals nothing)."""

    resident_id = EncryptedCharField(_("resident ID number"), max_length=18)
    resident_id_index = BlindIndexField(
        source="resident_id", domain="resident_id", normalizer=normalize_resident_id
    )
    code_failures = models.PositiveSmallIntegerField(_("wrong codes since the last lock"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("activation lock")
        verbose_name_plural = _("activation locks")
        constraints = [
            models.UniqueConstraint(
                fields=["resident_id_index"],
                name="portal_activationguard_resident_id_unique",
                violation_error_message=_("This resident ID number already has an activation lock."),
            ),
        ]

    def __str__(self) -> str:
        # Masked: a string of the object ends up in logs and the admin's history.
        return mask_resident_id(self.resident_id)


class PrivacyConsent(models.Model):
    """The trainee agreed to the personal-information processing notice of ``notice_version``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="privacy_consents",
    )
    notice_version = models.CharField(_("notice version"), max_length=20)
    accepted_at = models.DateTimeField(_("accepted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("privacy notice consent")
        verbose_name_plural = _("privacy notice consents")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "notice_version"],
                name="portal_privacyconsent_once_per_version",
                violation_error_message=_("This consent is already recorded."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.notice_version}"
