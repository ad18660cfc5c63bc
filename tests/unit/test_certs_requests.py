"""Unit tests of the request / approve / install flow for another organisation's adapter."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from certs import pki, requests
from certs.errors import PkiError
from certs.names import PeerKind, Principal
from certs.signing import DISCLOSURE_DOMAIN, SigningKey, TrustStore
from mash.home import Home

POLICE = Principal(PeerKind.ADAPTER, "police")


@pytest.fixture()
def homes(tmp_path: Path) -> tuple[Home, Home]:
    mash_home, agency_home = Home.at(tmp_path / "mash"), Home.at(tmp_path / "agency")
    pki.init_pki(mash_home, agencies=["health"])
    return mash_home, agency_home


def test_request_approve_install_keeps_private_keys_at_the_agency(
        homes: tuple[Home, Home]) -> None:
    mash_home, agency_home = homes
    req = requests.create_request(agency_home, POLICE)
    text = req.read_text()
    assert "PRIVATE" not in text and "BEGIN CERTIFICATE REQUEST" in text
    assert stat.S_IMODE(agency_home.tls_key("adapter-police").stat().st_mode) == 0o600
    issued = requests.approve_request(mash_home, req)
    assert issued.name == "adapter-police"
    assert not mash_home.tls_key("adapter-police").exists()
    assert not mash_home.signing_key("adapter-police").exists()
    requests.install_certificate(agency_home, "adapter-police",
                                 cert=mash_home.tls_cert("adapter-police"),
                                 ca=mash_home.ca_cert, trust_store=mash_home.trust_store)
    # The MASH now verifies the agency's disclosures with the pinned key.
    key = SigningKey.load(agency_home.signing_key("adapter-police"))
    store = TrustStore.load(mash_home.trust_store)
    store.verify(DISCLOSURE_DOMAIN, b"d", key.sign(DISCLOSURE_DOMAIN, b"d"), key.key_id,
                 expected_owner="adapter-police", purpose="disclosure-signing")
    # And the agency holds the broker's query-signing key.
    assert TrustStore.load(agency_home.trust_store).keys_for("broker-mash-demo")


def test_request_may_not_pin_a_key_for_another_owner(homes: tuple[Home, Home]) -> None:
    mash_home, agency_home = homes
    req = requests.create_request(agency_home, POLICE)
    req.write_text(req.read_text().replace('owner = "adapter-police"', 'owner = "adapter-health"'))
    with pytest.raises(PkiError, match="may not pin"):
        requests.approve_request(mash_home, req)


def test_request_may_not_relabel_a_key_pinned_for_someone_else(
        homes: tuple[Home, Home]) -> None:
    mash_home, agency_home = homes
    health = SigningKey.load(mash_home.signing_key("adapter-health"))
    agency_home.ensure()
    (agency_home.pki_dir / "signing").mkdir(parents=True, exist_ok=True)
    agency_home.signing_key("adapter-police").write_bytes(health.to_pem())
    req = requests.create_request(agency_home, POLICE)
    with pytest.raises(PkiError, match="already pinned"):
        requests.approve_request(mash_home, req)


def test_csr_for_another_name_is_refused(homes: tuple[Home, Home]) -> None:
    mash_home, agency_home = homes
    req = requests.create_request(agency_home, POLICE)
    req.write_text(req.read_text().replace('name = "police"', 'name = "health"')
                   .replace('"adapter-police"', '"adapter-health"')
                   .replace('"audit-adapter-police"', '"audit-adapter-health"'))
    with pytest.raises(PkiError, match="CSR names"):
        requests.approve_request(mash_home, req)


def test_install_refuses_a_certificate_for_another_key(homes: tuple[Home, Home]) -> None:
    mash_home, agency_home = homes
    requests.approve_request(mash_home, requests.create_request(agency_home, POLICE))
    requests.create_request(agency_home, POLICE)  # new local key: old cert no longer fits
    with pytest.raises(PkiError, match="does not match"):
        requests.install_certificate(agency_home, "adapter-police",
                                     cert=mash_home.tls_cert("adapter-police"),
                                     ca=mash_home.ca_cert, trust_store=mash_home.trust_store)


def test_garbage_request_is_a_pki_error(tmp_path: Path, homes: tuple[Home, Home]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\nkind = "adapter"\nname = "police"\ncsr = "nope"\n')
    with pytest.raises(PkiError):
        requests.approve_request(homes[0], bad)


def test_ca_side_cannot_rotate_a_certificate_whose_key_it_does_not_hold(
        homes: tuple[Home, Home]) -> None:
    mash_home, agency_home = homes
    requests.approve_request(mash_home, requests.create_request(agency_home, POLICE))
    with pytest.raises(PkiError, match="holds its own key"):
        pki.rotate_tls(mash_home, "adapter-police")
    assert not mash_home.tls_key("adapter-police").exists()


def test_signing_key_rotation_by_request_overlaps_then_replaces(homes: tuple[Home, Home]) -> None:
    mash_home, agency_home = homes
    requests.approve_request(mash_home, requests.create_request(agency_home, POLICE))
    old = SigningKey.load(agency_home.signing_key("adapter-police"))
    renewal = requests.create_request(agency_home, POLICE)
    assert SigningKey.load(agency_home.signing_key("adapter-police")).key_id == old.key_id
    requests.approve_request(mash_home, renewal)
    assert len(TrustStore.load(mash_home.trust_store).keys_for("adapter-police")) == 1
    requests.approve_request(mash_home, requests.create_request(agency_home, POLICE,
                                                                new_signing_keys=True))
    pins = TrustStore.load(mash_home.trust_store).keys_for("adapter-police")
    assert len(pins) == 2 and old.key_id in {p.key_id for p in pins}
    old_pin = next(p for p in pins if p.key_id == old.key_id)
    assert old_pin.not_after - old_pin.not_before < pki.SIGNING_KEY_VALIDITY


def test_install_merges_trust_stores(homes: tuple[Home, Home], tmp_path: Path) -> None:
    mash_home, agency_home = homes
    other = Home.at(tmp_path / "other-mash")
    pki.init_pki(other, brokers=["mash-york"], agencies=[], clients=[])
    requests.approve_request(mash_home, requests.create_request(agency_home, POLICE))
    agency_home.trust_store.write_bytes(other.trust_store.read_bytes())
    requests.install_certificate(agency_home, "adapter-police",
                                 cert=mash_home.tls_cert("adapter-police"),
                                 ca=mash_home.ca_cert, trust_store=mash_home.trust_store)
    merged = TrustStore.load(agency_home.trust_store)
    assert merged.keys_for("broker-mash-york") and merged.keys_for("broker-mash-demo")
