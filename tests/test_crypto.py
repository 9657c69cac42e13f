"""core/crypto.py: SM4-GCM values that name their key, SM3, HMAC-SM3 blind indexes, keyrings."""

import base64
import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import crypto
from core.identity import normalize_resident_id


def ring(active="k1", *ids):
    keys = {kid: bytes([n + 1]) * 16 for n, kid in enumerate(ids or (active,))}
    return crypto.Keyring(keys=keys, active_key_id=active, index_key=b"i" * 32, source="test")


def test_sm3_matches_the_standard_test_vector():
    # GB/T 32905-2016, example 1: SM3("abc").
    assert crypto.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_a_value_round_trips_and_names_its_key():
    keys = ring("k1")
    stored = crypto.encrypt("330102199001011234", context="t.trainee.resident_id", ring=keys)
    assert stored.startswith("v1$k1$")
    assert "330102199001011234" not in stored
    assert crypto.key_id_of(stored) == "k1"
    assert crypto.decrypt(stored, context="t.trainee.resident_id", ring=keys) == "330102199001011234"


def test_the_same_value_encrypts_differently_each_time():
    keys = ring()
    assert crypto.encrypt("13800000000", context="c", ring=keys) != crypto.encrypt(
        "13800000000", context="c", ring=keys
    )


def test_a_changed_byte_does_not_decrypt():
    keys = ring()
    stored = crypto.encrypt("6222020000000000000", context="c", ring=keys)
    prefix, body = stored.rsplit("$", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[14] ^= 1
    forged = prefix + "$" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(forged, context="c", ring=keys)


def test_a_value_copied_into_another_column_does_not_decrypt():
    keys = ring()
    stored = crypto.encrypt("13800000000", context="trainees.trainee.phone", ring=keys)
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(stored, context="trainees.trainee.bank_account", ring=keys)


def test_old_values_read_with_a_new_active_key_until_the_old_key_is_removed():
    old = ring("k1")
    stored = crypto.encrypt("x", context="c", ring=old)
    both = ring("k2", "k1", "k2")
    assert crypto.decrypt(stored, context="c", ring=both) == "x"
    assert crypto.encrypt("x", context="c", ring=both).startswith("v1$k2$")
    with pytest.raises(crypto.CryptoError, match="unknown key id"):
        crypto.decrypt(stored, context="c", ring=ring("k2"))


@pytest.mark.parametrize("stored", ["", "plain", "v1$k1", "v2$k1$abc", "v1$k1$!!!", "v1$k1$AAAA"])
def test_malformed_values_are_refused(stored):
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(stored, context="c", ring=ring())


def test_blind_index_is_keyed_normalised_and_separated_by_domain():
    keys = ring()
    a = crypto.blind_index(
        "33010219900101123x", domain="resident_id", normalizer=normalize_resident_id, ring=keys
    )
    b = crypto.blind_index(
        " 33010219900101123X", domain="resident_id", normalizer=normalize_resident_id, ring=keys
    )
    assert a == b and len(a) == 64
    assert a != crypto.blind_index("33010219900101123X", domain="phone", ring=keys)
    other_key = crypto.Keyring(keys=keys.keys, active_key_id="k1", index_key=b"j" * 32, source="t")
    assert a != crypto.blind_index("33010219900101123X", domain="resident_id", ring=other_key)
    # HMAC-SM3, not a bare hash: without the key the index cannot be recomputed.
    assert a != crypto.sm3_hex(b"resident_id\x0033010219900101123X")


def test_keyring_from_a_key_file(tmp_path, settings, caplog):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(crypto.new_keyring_mapping("2026a")))
    path.chmod(0o600)
    settings.PII_KEYS, settings.PII_KEY_FILE = "", str(path)
    keys = crypto.keyring()
    assert keys.active_key_id == "2026a" and not keys.development
    assert "chmod 600" not in caplog.text


def test_a_key_file_others_can_read_is_warned_about(tmp_path, settings, caplog):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(crypto.new_keyring_mapping("2026a")))
    path.chmod(0o644)
    settings.PII_KEYS, settings.PII_KEY_FILE = "", str(path)
    crypto.keyring()
    assert "chmod 600" in caplog.text


def test_keyring_from_the_environment(settings):
    settings.PII_KEY_FILE = ""
    settings.PII_KEYS = (
        "a:" + base64.b64encode(b"1" * 16).decode() + ",b:" + base64.b64encode(b"2" * 16).decode()
    )
    settings.PII_INDEX_KEY = base64.b64encode(b"3" * 32).decode()
    settings.PII_ACTIVE_KEY_ID = ""
    assert crypto.keyring().active_key_id == "b"  # the last listed, unless named


@pytest.mark.parametrize(
    "data, message",
    [
        ({"active": "k1", "keys": {}, "index_key": "aWlpaWlpaWlpaWlpaWlpaQ=="}, "no encryption key"),
        (
            {
                "active": "k9",
                "keys": {"k1": "MTExMTExMTExMTExMTExMQ=="},
                "index_key": "aWlpaWlpaWlpaWlpaWlpaQ==",
            },
            "active",
        ),
        ({"active": "k1", "keys": {"k1": "c2hvcnQ="}, "index_key": "aWlpaWlpaWlpaWlpaWlpaQ=="}, "16 bytes"),
        ({"active": "k1", "keys": {"k1": "not base64!"}, "index_key": "aWlpaWlpaWlpaWlpaWlpaQ=="}, "base64"),
        ({"active": "bad id", "keys": {"bad id": "MTExMTExMTExMTExMTExMQ=="}, "index_key": "aQ=="}, "key id"),
        ([], "JSON object"),
    ],
)
def test_a_broken_keyring_is_refused_with_a_reason(data, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        crypto.keyring_from_mapping(data, source="test")


def test_development_keyring_is_generated_once_with_a_warning(tmp_path, settings, caplog):
    path = tmp_path / "dev-keys.json"
    settings.PII_KEYS, settings.PII_KEY_FILE, settings.PII_DEVELOPMENT_KEY_FILE = "", "", str(path)
    first = crypto.keyring()
    assert first.development and path.exists()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "DEVELOPMENT key" in caplog.text
    crypto.keyring.cache_clear()
    assert crypto.keyring().keys == first.keys  # read back, not regenerated
