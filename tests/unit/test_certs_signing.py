"""Unit tests of message signing and trust-store verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certs.errors import InvalidSignature, TrustStoreError
from certs.signing import (
    DISCLOSURE_DOMAIN,
    QUERY_DOMAIN,
    PinnedKey,
    RevokedCert,
    SigningKey,
    TrustStore,
    key_id_of,
)

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def pin(key: SigningKey, purpose: str, *, days: int = 365) -> PinnedKey:
    return PinnedKey(key.key_id, key.owner, purpose, key.public_bytes,
                     T0 - timedelta(days=1), T0 + timedelta(days=days))


def test_sign_verify_roundtrip() -> None:
    key = SigningKey.generate("adapter-police")
    store = TrustStore((pin(key, "disclosure-signing"),), clock=lambda: T0)
    sig = key.sign(DISCLOSURE_DOMAIN, b"payload")
    verified = store.verify(DISCLOSURE_DOMAIN, b"payload", sig, key.key_id,
                            expected_owner="adapter-police", purpose="disclosure-signing")
    assert (verified.owner, verified.key_id, verified.purpose) == (
        "adapter-police", key.key_id, "disclosure-signing")


def test_key_id_is_sha256_prefix_of_raw_public_key() -> None:
    key = SigningKey.generate("broker-x")
    assert key.key_id == key_id_of(key.public_bytes)
    assert len(key.key_id) == 16 and int(key.key_id, 16) >= 0


def test_domain_separates_message_types() -> None:
    key = SigningKey.generate("broker-mash-demo")
    store = TrustStore((pin(key, "query-signing"),), clock=lambda: T0)
    sig = key.sign(QUERY_DOMAIN, b"p")
    with pytest.raises(InvalidSignature):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, key.key_id,
                     expected_owner="broker-mash-demo", purpose="query-signing")


def test_domain_with_nul_is_refused() -> None:
    key = SigningKey.generate("broker-x")
    with pytest.raises(ValueError):
        key.sign(b"a\0b", b"")
    with pytest.raises(ValueError):
        key.sign(b"", b"payload")


def test_signing_key_load_roundtrip(tmp_path: Path) -> None:
    key = SigningKey.generate("adapter-health")
    path = tmp_path / "adapter-health.key"
    path.write_bytes(key.to_pem())
    loaded = SigningKey.load(path)
    assert loaded.owner == "adapter-health" and loaded.key_id == key.key_id


def test_trust_store_toml_roundtrip(tmp_path: Path) -> None:
    a, b = SigningKey.generate("adapter-police"), SigningKey.generate("broker-mash-demo")
    store = TrustStore((pin(a, "disclosure-signing"), pin(b, "query-signing")),
                       (RevokedCert(2**150 + 7, "adapter-police", T0, "key compromise"),))
    path = tmp_path / "trust.toml"
    store.save(path)
    loaded = TrustStore.load(path)
    assert loaded == store
    assert loaded.is_revoked(2**150 + 7) and not loaded.is_revoked(7)
    assert "adapter-police" in path.read_text()


@pytest.mark.parametrize("edit, field", [
    (lambda t: t.replace('purpose = "disclosure-signing"', 'purpose = "anything"'), "purpose"),
    (lambda t: t.replace("version = 1", "version = 9"), "version"),
    (lambda t: t.replace("not_after = ", "not_after = 1 #"), "not_after"),
    (lambda t: t + "[[key]]\n", r"key\[1\]"),
])
def test_malformed_trust_store_names_the_field(tmp_path: Path, edit, field) -> None:  # noqa: ANN001
    store = TrustStore((pin(SigningKey.generate("adapter-police"), "disclosure-signing"),))
    path = tmp_path / "trust.toml"
    path.write_text(edit(store.to_toml()))
    with pytest.raises(TrustStoreError, match=field):
        TrustStore.load(path)


def test_trust_store_refuses_key_id_not_matching_key(tmp_path: Path) -> None:
    key = SigningKey.generate("adapter-police")
    bad = PinnedKey("0" * 16, key.owner, "disclosure-signing", key.public_bytes, T0, T0)
    with pytest.raises(TrustStoreError, match="key_id"):
        TrustStore((bad,))


def test_missing_trust_store_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError, match="pki init"):
        TrustStore.load(tmp_path / "nope.toml")


def test_keys_for_lists_newest_first() -> None:
    old, new = SigningKey.generate("adapter-police"), SigningKey.generate("adapter-police")
    p_old = pin(old, "disclosure-signing")
    p_new = PinnedKey(new.key_id, new.owner, "disclosure-signing", new.public_bytes,
                      T0, T0 + timedelta(days=9))
    store = TrustStore((p_old, p_new))
    assert [k.key_id for k in store.keys_for("adapter-police")] == [new.key_id, old.key_id]
    assert store.keys_for("adapter-health") == ()
    assert store.public_key(new.key_id) is not None
