"""Unit tests of `certs.pki`: the files `init_pki` writes, idempotence, rotation, revocation."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from certs import pki
from certs.errors import InvalidName, PkiError
from certs.names import PeerKind, Principal
from certs.signing import DISCLOSURE_DOMAIN, SigningKey, TrustStore
from mash.home import Home
from mash.vocab import Agency, UnknownVocabulary

pytestmark = pytest.mark.clock_sensitive

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def fixed(t: datetime):  # noqa: ANN201 - tiny test helper
    return lambda: t


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    h = Home.at(tmp_path_factory.mktemp("pki"))
    pki.init_pki(h, clock=fixed(T0))
    return h


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_ca_certs_and_signing_keys_for_every_principal(home: Home) -> None:
    assert home.ca_cert.exists() and home.ca_key.exists()
    names = ["broker-mash-demo", "client-staff"] + [f"adapter-{a.value}" for a in Agency]
    for name in names:
        assert home.tls_cert(name).exists(), name
        assert home.tls_key(name).exists(), name
    for owner in ["broker-mash-demo", "audit-broker-mash-demo"] + [
        f"{p}adapter-{a.value}" for a in Agency for p in ("", "audit-")
    ]:
        assert home.signing_key(owner).exists(), owner
    assert not home.signing_key("client-staff").exists()


def test_every_private_key_is_0600(home: Home) -> None:
    keys = list(home.pki_dir.rglob("*.key"))
    assert len(keys) > 10
    for key in keys:
        assert _mode(key) == 0o600, key


def test_certificates_carry_their_own_demo_name_and_principal_uri(home: Home) -> None:
    cert = x509.load_pem_x509_certificate(home.tls_cert("adapter-police").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["police.adapter.localhost"]
    assert san.get_values_for_type(x509.IPAddress) == []
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["mash://adapter/police"]
    ca = x509.load_pem_x509_certificate(home.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_trust_store_pins_each_signing_key_with_its_purpose(home: Home) -> None:
    store = TrustStore.load(home.trust_store)
    expected = {
        "broker-mash-demo": "query-signing",
        "adapter-police": "disclosure-signing",
        "audit-adapter-police": "audit-checkpoint",
        "audit-broker-mash-demo": "audit-checkpoint",
    }
    for owner, purpose in expected.items():
        (pinned,) = store.keys_for(owner)
        assert pinned.purpose == purpose
        assert pinned.key_id == SigningKey.load(home.signing_key(owner)).key_id


def test_init_is_idempotent(home: Home) -> None:
    before = {p: p.read_bytes() for p in home.pki_dir.rglob("*") if p.is_file()}
    summary = pki.init_pki(home, clock=fixed(T0 + timedelta(minutes=1)))
    assert summary.created == ()
    after = {p: p.read_bytes() for p in home.pki_dir.rglob("*") if p.is_file()}
    assert before == after


def test_force_replaces_everything(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"], clock=fixed(T0))
    old_ca = home.ca_cert.read_bytes()
    old_key = SigningKey.load(home.signing_key("adapter-police")).key_id
    pki.init_pki(home, agencies=["police"], force=True, clock=fixed(T0))
    assert home.ca_cert.read_bytes() != old_ca
    store = TrustStore.load(home.trust_store)
    assert old_key not in {k.key_id for k in store.keys}


def test_init_reissues_certificates_not_signed_by_the_current_ca(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"], clock=fixed(T0))
    home.ca_cert.unlink()
    summary = pki.init_pki(home, agencies=["police"], clock=fixed(T0))
    assert "tls:adapter-police" in summary.created
    cert = x509.load_pem_x509_certificate(home.tls_cert("adapter-police").read_bytes())
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(home.ca_cert.read_bytes()))


def test_revoked_certificate_is_listed_and_reissued_by_init(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"], clock=fixed(T0))
    entry = pki.revoke(home, "adapter-police", reason="key compromise", clock=fixed(T0))
    assert TrustStore.load(home.trust_store).is_revoked(entry.serial)
    summary = pki.init_pki(home, agencies=["police"], clock=fixed(T0))
    assert "tls:adapter-police" in summary.created
    new = pki.read_certificate(home, "adapter-police")
    assert new.serial_number != entry.serial


def test_rotate_tls_keeps_old_cert_valid_unless_asked(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"], clock=fixed(T0))
    old = pki.read_certificate(home, "adapter-police").serial_number
    issued = pki.rotate_tls(home, "adapter-police", clock=fixed(T0))
    assert issued.serial != old
    assert not TrustStore.load(home.trust_store).is_revoked(old)
    newer = pki.rotate_tls(home, "adapter-police", revoke_old=True, clock=fixed(T0))
    store = TrustStore.load(home.trust_store)
    assert store.is_revoked(issued.serial) and not store.is_revoked(newer.serial)


def test_expiring_lists_certificates_near_their_end(home: Home) -> None:
    assert pki.expiring(home, timedelta(days=30), clock=fixed(T0)) == ()
    soon = pki.expiring(home, timedelta(days=30), clock=fixed(T0 + timedelta(days=380)))
    assert "adapter-police" in soon and "ca" not in soon


def test_rotate_signing_keeps_old_key_for_the_overlap_only(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, agencies=["police"], clock=fixed(T0))
    old = SigningKey.load(home.signing_key("adapter-police"))
    new = pki.rotate_signing(home, "adapter-police", overlap=timedelta(hours=2),
                             clock=fixed(T0))
    assert SigningKey.load(home.signing_key("adapter-police")).key_id == new.key_id
    store = TrustStore.load(home.trust_store)
    sig = old.sign(DISCLOSURE_DOMAIN, b"x")
    kw = {"expected_owner": "adapter-police", "purpose": "disclosure-signing"}
    store.verify(DISCLOSURE_DOMAIN, b"x", sig, old.key_id, at=T0 + timedelta(hours=1), **kw)
    with pytest.raises(Exception, match="valid"):
        store.verify(DISCLOSURE_DOMAIN, b"x", sig, old.key_id, at=T0 + timedelta(hours=3), **kw)
    sig2 = new.sign(DISCLOSURE_DOMAIN, b"x")
    store.verify(DISCLOSURE_DOMAIN, b"x", sig2, new.key_id, at=T0 + timedelta(days=30), **kw)


def test_rotate_signing_refuses_clients_and_unknown_owners(home: Home) -> None:
    with pytest.raises(InvalidName):
        pki.rotate_signing(home, "client-staff")
    with pytest.raises(PkiError):
        pki.rotate_signing(home, "broker-nowhere")


def test_names_are_checked(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    with pytest.raises(UnknownVocabulary):
        pki.init_pki(home, agencies=["fire"])
    with pytest.raises(InvalidName):
        pki.init_pki(home, brokers=["../etc"])
    with pytest.raises(InvalidName):
        Principal(PeerKind.CLIENT, "Bad Name")


def test_several_brokers_get_their_own_identity(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    pki.init_pki(home, brokers=["mash-leeds", "mash-york"], agencies=["police"],
                 clock=fixed(T0))
    store = TrustStore.load(home.trust_store)
    assert store.keys_for("broker-mash-leeds") and store.keys_for("broker-mash-york")
    assert home.tls_cert("broker-mash-york").exists()
