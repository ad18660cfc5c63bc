"""Signed policy bundles: exported by an IG lead, verified and installed whole by an agency."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mash.home import Home
from policy import SHIPPED_POLICY_DIR, dev_approve_all, load_engine
from policy.approval import DEV_APPROVERS, agreements_dir, load_approver_key
from policy.bundle import BundleError, _canonical, export_bundle, install_bundle
from policy.demo_agreements import install_demo_agreements
from policy.status import agreement_statuses

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.fixture(scope="module")
def ig_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home.at(tmp_path_factory.mktemp("ig"))
    dev_approve_all(home, install_demo_agreements(home, SHIPPED_POLICY_DIR, NOW.date()), at=NOW)
    return home


def _export(ig: Home, out: Path, signer: str = DEV_APPROVERS[0]) -> dict[str, object]:
    doc = export_bundle(ig, agreements_dir(ig), signer=signer,
                        key=load_approver_key(ig, signer), at=NOW)
    out.write_text(json.dumps(doc))
    return doc


def _applied(home: Home) -> int:
    return sum(s.applied for s in agreement_statuses(load_engine(home), now=NOW))


def test_a_first_install_pins_the_approvers_and_applies_every_agreement(
        ig_home: Home, tmp_path: Path) -> None:
    bundle = tmp_path / "policy.json"
    _export(ig_home, bundle)
    agency = Home.at(tmp_path / "agency")
    with pytest.raises(BundleError, match="pins no approvers"):
        install_bundle(agency, bundle)
    assert _applied(agency) == 0
    done = install_bundle(agency, bundle, pin_approvers=True)
    assert len(done.agreements) == 5 and done.approvals == 10
    assert _applied(agency) == 5
    assert load_engine(agency).version == load_engine(ig_home).version
    with pytest.raises(BundleError, match="already pins approvers"):
        install_bundle(agency, bundle, pin_approvers=True)
    install_bundle(agency, bundle)  # a later install needs no pinning


def test_an_altered_bundle_is_refused_and_nothing_changes(ig_home: Home, tmp_path: Path) -> None:
    bundle = tmp_path / "policy.json"
    doc = _export(ig_home, bundle)
    agency = Home.at(tmp_path / "agency")
    install_bundle(agency, bundle, pin_approvers=True)
    before = {p.name: p.read_bytes() for p in agreements_dir(agency).glob("*.toml")}
    agreements = dict(doc["agreements"])  # type: ignore[call-overload]
    name = sorted(agreements)[0]
    agreements[name] = agreements[name].replace("valid_for_minutes = 240", "valid_for_minutes = 9999")
    bundle.write_text(json.dumps({**doc, "agreements": agreements}))
    with pytest.raises(BundleError, match="does not verify"):
        install_bundle(agency, bundle)
    assert {p.name: p.read_bytes() for p in agreements_dir(agency).glob("*.toml")} == before


def test_a_bundle_signed_by_someone_not_pinned_is_refused(ig_home: Home, tmp_path: Path) -> None:
    other = Home.at(tmp_path / "other-ig")
    dev_approve_all(other, install_demo_agreements(other, SHIPPED_POLICY_DIR, NOW.date()), at=NOW)
    agency = Home.at(tmp_path / "agency")
    good = tmp_path / "good.json"
    _export(ig_home, good)
    install_bundle(agency, good, pin_approvers=True)
    forged = tmp_path / "forged.json"
    _export(other, forged)  # same approver names, different keys
    with pytest.raises(BundleError, match="does not verify"):
        install_bundle(agency, forged)


def test_an_approval_that_does_not_verify_is_refused_even_in_a_signed_bundle(
        ig_home: Home, tmp_path: Path) -> None:
    bundle = tmp_path / "policy.json"
    doc = _export(ig_home, bundle)
    agency = Home.at(tmp_path / "agency")
    install_bundle(agency, bundle, pin_approvers=True)
    approvals = [dict(a) for a in doc["approvals"]]  # type: ignore[attr-defined]
    approvals[0]["approved_at"] = "2020-01-01T00:00:00Z"  # the approver never signed this
    body = {k: v for k, v in doc.items() if k != "signature"} | {"approvals": approvals}
    key = load_approver_key(ig_home, DEV_APPROVERS[0])
    resigned = {**body, "signature": base64.b64encode(key.sign(_canonical(body))).decode()}
    bundle.write_text(json.dumps(resigned))
    with pytest.raises(BundleError, match="approval in the bundle does not verify"):
        install_bundle(agency, bundle)


def test_a_bundle_cannot_write_outside_the_agreements_folder(ig_home: Home, tmp_path: Path) -> None:
    bundle = tmp_path / "policy.json"
    doc = _export(ig_home, bundle)
    agency = Home.at(tmp_path / "agency")
    install_bundle(agency, bundle, pin_approvers=True)
    body = {k: v for k, v in doc.items() if k != "signature"}
    body["agreements"] = {"../../evil.toml": "x = 1"}
    key = load_approver_key(ig_home, DEV_APPROVERS[0])
    bundle.write_text(json.dumps({**body, "signature": base64.b64encode(
        key.sign(_canonical(body))).decode()}))
    with pytest.raises(BundleError, match="not allowed"):
        install_bundle(agency, bundle)
    assert not (tmp_path / "evil.toml").exists()


def test_garbage_is_not_a_bundle(tmp_path: Path) -> None:
    home = Home.at(tmp_path / "agency")
    for text in ("not json", "[]", json.dumps({"type": "mash-policy-bundle/v1"})):
        path = tmp_path / "b.json"
        path.write_text(text)
        with pytest.raises(BundleError):
            install_bundle(home, path)
