"""Commercial cryptography (国密) for personal information at rest: SM4-GCM, SM3, HMAC-SM3.

Everything goes through the maintained ``cryptography`` package (its OpenSSL offers SM4 in
GCM mode and SM3); nothing here implements a cipher.

- **Values** are encrypted with SM4 in GCM mode (authenticated: a changed byte fails to
  decrypt, it never decrypts to something else) under the keyring's *active* key. The stored
  text names the key: ``v1$<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>``, so a keyring may
  hold old keys for reading while every write uses the new one (key rotation, see
  ``manage.py rotate_pii_key``). A *context* (the column, e.g. ``trainees.trainee.phone``) is
  bound as associated data, so a ciphertext copied into another column does not decrypt.
- **Blind indexes** are HMAC-SM3 of the normalised value under a separate index key, with a
  *domain* (``resident_id``, ``account``...) mixed in: equal values in one domain give equal
  indexes (lookups, uniqueness, shared-account signals) and the index reveals nothing else.
- **Keys** come from ``PII_KEY_FILE`` (a JSON file outside the repository) or from
  ``PII_KEYS`` / ``PII_ACTIVE_KEY_ID`` / ``PII_INDEX_KEY`` in the environment; see
  ``docs/pii.md``. With ``DEBUG`` on and no key configured, a development keyring is generated
  once into ``.pii-dev-keys.json`` (ignored by git) with a loud warning; settings refuse to
  start with ``DEBUG`` off and no key.
"""

from __future__ import annotations

import base64
import binascii
import hmac as std_hmac
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

FORMAT_VERSION = "v1"
SM4_KEY_BYTES = 16  # SM4 has a 128-bit key and block
INDEX_KEY_BYTES = 32
NONCE_BYTES = 12  # GCM's recommended nonce; random per value
TAG_BYTES = 16
KEY_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class CryptoError(Exception):
    """A value could not be decrypted: unknown key id, wrong format, or altered bytes."""


# -- hashing ----------------------------------------------------------------------------------


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = crypto_hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


# -- keyring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    active_key_id: str
    index_key: bytes
    source: str  # where it came from, for messages (never the key itself)
    development: bool = False

    def __post_init__(self):
        if not self.keys:
            raise ImproperlyConfigured(f"The PII keyring from {self.source} holds no encryption key.")
        for kid, key in self.keys.items():
            if not kid or not set(kid) <= KEY_ID_CHARS or len(kid) > 32:
                raise ImproperlyConfigured(
                    f"PII key id {kid!r} in {self.source} must be 1-32 letters, digits, '-' or '_'."
                )
            if len(key) != SM4_KEY_BYTES:
                raise ImproperlyConfigured(
                    f"PII key {kid!r} in {self.source} must be {SM4_KEY_BYTES} bytes (base64), got {len(key)}."
                )
        if self.active_key_id not in self.keys:
            raise ImproperlyConfigured(
                f"The active PII key id {self.active_key_id!r} is not among the keys of {self.source}."
            )
        if len(self.index_key) < 16:
            raise ImproperlyConfigured(f"The PII index key in {self.source} must be at least 16 bytes.")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{what} is not valid base64.") from None


def keyring_from_mapping(data: dict, *, source: str, development: bool = False) -> Keyring:
    """``{"active": kid, "keys": {kid: base64}, "index_key": base64}`` (the key file's shape)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise ImproperlyConfigured(f"{source} must hold a JSON object with 'active', 'keys' and 'index_key'.")
    keys = {
        str(kid): _b64decode(str(value), f"PII key {kid!r} in {source}")
        for kid, value in data["keys"].items()
    }
    index_key = _b64decode(str(data.get("index_key", "")), f"The index key in {source}")
    return Keyring(
        keys=keys,
        active_key_id=str(data.get("active", "")),
        index_key=index_key,
        source=source,
        development=development,
    )


def new_keyring_mapping(key_id: str = "k1") -> dict:
    """A fresh keyring (``manage.py generate_pii_keys`` and the development keyring)."""
    return {
        "active": key_id,
        "keys": {key_id: base64.b64encode(secrets.token_bytes(SM4_KEY_BYTES)).decode()},
        "index_key": base64.b64encode(secrets.token_bytes(INDEX_KEY_BYTES)).decode(),
    }


def _read_key_file(path: Path, *, development: bool) -> Keyring:
    try:
        if path.stat().st_mode & 0o077:
            logger.warning("PII_KEY_FILE %s can be read by other users: chmod 600 it.", path)
    except OSError:
        pass  # a missing file is reported below
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImproperlyConfigured(f"PII_KEY_FILE {path} does not exist.") from None
    except (OSError, ValueError) as exc:
        raise ImproperlyConfigured(f"PII_KEY_FILE {path} cannot be read as JSON: {exc}") from None
    return keyring_from_mapping(data, source=str(path), development=development)


def _create_development_key_file(path: Path) -> None:
    """Write a new development keyring, once: O_EXCL, so two processes never write two keys."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(new_keyring_mapping("dev1"), handle)


def load_keyring(settings) -> Keyring:
    """The keyring described by the settings (see ``config/settings.py``, ``PII_*``)."""
    env_keys = (getattr(settings, "PII_KEYS", "") or "").strip()
    key_file = getattr(settings, "PII_KEY_FILE", "") or ""
    if env_keys:
        keys = {}
        for part in env_keys.split(","):
            kid, sep, value = part.strip().partition(":")
            if not sep:
                raise ImproperlyConfigured("PII_KEYS must be 'id:base64key' pairs separated by commas.")
            keys[kid.strip()] = _b64decode(value, f"PII key {kid.strip()!r} in PII_KEYS")
        index = (getattr(settings, "PII_INDEX_KEY", "") or "").strip()
        if not index:
            raise ImproperlyConfigured("PII_INDEX_KEY must be set beside PII_KEYS.")
        return Keyring(
            keys=keys,
            active_key_id=(getattr(settings, "PII_ACTIVE_KEY_ID", "") or "").strip() or list(keys)[-1],
            index_key=_b64decode(index, "PII_INDEX_KEY"),
            source="PII_KEYS",
        )
    if key_file:
        return _read_key_file(Path(key_file), development=False)
    if getattr(settings, "PII_DEVELOPMENT_KEY_FILE", ""):
        path = Path(settings.PII_DEVELOPMENT_KEY_FILE)
        _create_development_key_file(path)
        logger.warning(
            "PII is encrypted with a DEVELOPMENT key generated into %s. Never use it for real "
            "personal information: set PII_KEY_FILE to a key file outside the repository "
            "(manage.py generate_pii_keys).",
            path,
        )
        return _read_key_file(path, development=True)
    raise ImproperlyConfigured("No PII key is configured: set PII_KEY_FILE, or PII_KEYS and PII_INDEX_KEY.")


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    from django.conf import settings

    return load_keyring(settings)


def _reset_keyring(*, setting, **kwargs):
    if setting.startswith("PII_"):
        keyring.cache_clear()


def connect_setting_changes() -> None:
    """Tests that override ``PII_*`` settings get the new keyring (called from CoreConfig.ready)."""
    from django.core.signals import setting_changed

    setting_changed.connect(_reset_keyring, dispatch_uid="core.crypto.reset_keyring")


# -- values -----------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt(plaintext: str, *, context: str, ring: Keyring | None = None) -> str:
    """SM4-GCM under the active key; ``context`` is bound as associated data."""
    ring = ring or keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(ring.keys[ring.active_key_id]), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context.encode())
    body = encryptor.update(plaintext.encode("utf-8")) + encryptor.finalize()
    return f"{FORMAT_VERSION}${ring.active_key_id}${_b64url(nonce + body + encryptor.tag)}"


def key_id_of(stored: str) -> str:
    """The key id a stored value was encrypted under (``CryptoError`` if it is not one)."""
    parts = stored.split("$")
    if len(parts) != 3 or parts[0] != FORMAT_VERSION:
        raise CryptoError("not an encrypted value")
    return parts[1]


def decrypt(stored: str, *, context: str, ring: Keyring | None = None) -> str:
    ring = ring or keyring()
    key_id = key_id_of(stored)
    key = ring.keys.get(key_id)
    if key is None:
        raise CryptoError(f"unknown key id {key_id!r}")
    try:
        raw = _unb64url(stored.split("$", 2)[2])
    except (binascii.Error, ValueError):
        raise CryptoError("malformed value") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError("malformed value")
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(context.encode())
    try:
        plain = decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise CryptoError("the value was altered or belongs to another column") from None
    return plain.decode("utf-8")


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(FORMAT_VERSION + "$") and stored.count("$") == 2


def blind_index(
    value: str, *, domain: str, normalizer: Callable[[str], str] | None = None, ring: Keyring | None = None
) -> str:
    """HMAC-SM3 of the normalised value in ``domain``: hex, 64 characters."""
    ring = ring or keyring()
    normalized = normalizer(value) if normalizer else value
    return hmac_sm3(ring.index_key, domain.encode() + b"\x00" + normalized.encode("utf-8")).hex()


def constant_time_equal(a: str, b: str) -> bool:
    return std_hmac.compare_digest(a.encode(), b.encode())
