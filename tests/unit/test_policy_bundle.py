"""Signed policy bundles: exported by a MASH's IG lead, verified and installed by an agency
into that MASH's own slot, leaving every other MASH's agreements and approvers alone."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mash.home import Home
from policy import SHIPPED_POLICY_DIR, dev_approve_all, load_engine
from policy.approval import DEV_APPROVERS, agreements_dir, load_approver_key
from policy.bundle import (
    BUNDLE_TYPE,
    BundleError,
    _canonical,
    bundle_json,
    export_bundle,
    install_bundle,
    sign_bundle,
)
from policy.demo_agreements import WRITTEN_ON, install_demo_agreements, readdress, redate
from policy.errors import AgreementInvalid
from policy.mash_slots import mashes_dir, read_slot
from policy.status import agreement_statuses

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
NORTH = "mash-north"
NORTH_APPROVERS = ("ig-lead-nadia", "caldicott-guardian-north")


@pytest.fixture(scope="module")
def ig_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    home = Home.at(tmp_path_factory.mktemp("ig"))
    dev_approve_all(home, install_demo_agreements(home, SHIPPED_POLICY_DIR, NOW.date()), at=NOW)
    return home


def _north_text(version: str = "2026.1") -> str:
    text = redate((SHIPPED_POLICY_DIR / "police.toml").read_text(encoding="utf-8"),
                  NOW.date() - WRITTEN_ON)
    text = readdress(text, NORTH).replace(
        'approvers = ["ig-lead-alex", "caldicott-guardian-sam"]',
        f"approvers = {json.dumps(list(NORTH_APPROVERS))}", 1)
    return text.replace('version = "2026.1"', f'version = "{version}"', 1)


@pytest.fixture(scope="module")
def north_ig(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """North's IG lead: north's agreement with the police, approved by north's approvers."""
    home = Home.at(tmp_path_factory.mktemp("ig-north"))
    folder = agreements_dir(home)
    folder.mkdir(parents=True)
    (folder / "police.toml").write_text(_north_text(), encoding="utf-8")
    dev_approve_all(home, folder, NORTH_APPROVERS, at=NOW)
    return home


def _export(ig: Home, out: Path, signer: str = DEV_APPROVERS[0]) -> dict[str, Any]:
    doc = bundle_json(export_bundle(ig, agreements_dir(ig), signer=signer,
                                    key=load_approver_key(ig, signer), at=NOW))
    out.write_text(json.dumps(doc))
    return doc


def _applied(home: Home) -> int:
    return sum(s.applied for s in agreement_statuses(load_engine(home), now=NOW))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_a_first_install_pins_the_approvers_and_applies_every_agreement(
        ig_home: Home, tmp_path: Path) -> None:
    bundle = tmp_path / "policy.json"
    doc = _export(ig_home, bundle)
    assert doc["mash_id"] == "mash-demo" and doc["type"] == "mash-policy-bundle/v2"
    agency = Home.at(tmp_path / "agency")
    with pytest.raises(BundleError, match="pins no approvers for mash-demo"):
        install_bundle(agency, bundle)
    assert _applied(agency) == 0 and read_slot(agency, "mash-demo") is None
    done = install_bundle(agency, bundle, pin_approvers=True, at=NOW)
    assert done.mash_id == "mash-demo"
    assert len(done.agreements) == 5 and done.approvals == 10
    assert _applied(agency) == 5
    assert load_engine(agency).version == load_engine(ig_home).version
    with pytest.raises(BundleError, match="already pins approvers for mash-demo"):
        install_bundle(agency, bundle, pin_approvers=True)
    install_bundle(agency, bundle)  # a later install needs no pinning


def test_two_mashs_bundles_install_side_by_side_and_a_reinstall_leaves_the_other_alone(
        ig_home: Home, north_ig: Home, tmp_path: Path) -> None:
    agency = Home.at(tmp_path / "police-adapter")
    demo_bundle, north_bundle = tmp_path / "demo.json", tmp_path / "north.json"
    _export(ig_home, demo_bundle)
    _export(north_ig, north_bundle, NORTH_APPROVERS[0])
    install_bundle(agency, demo_bundle, pin_approvers=True, at=NOW)
    install_bundle(agency, north_bundle, pin_approvers=True, at=NOW)
    engine = load_engine(agency)
    assert {"mash-demo", NORTH} <= set(engine.mashes)
    assert _applied(agency) == 6
    north_version = engine.version_of(NORTH)
    north_files = _files(mashes_dir(agency) / NORTH)

    # The demo IG lead publishes again: north's slot is byte for byte as it was.
    install_bundle(agency, demo_bundle, at=NOW)
    assert load_engine(agency).version_of(NORTH) == north_version
    assert _files(mashes_dir(agency) / NORTH) == north_files
    north_slot = read_slot(agency, NORTH)
    assert north_slot is not None and north_slot.installed.signer == NORTH_APPROVERS[0]
    demo_files = _files(mashes_dir(agency) / "mash-demo")

    # North publishes a new version: demo's slot is byte for byte as it was.
    folder = agreements_dir(north_ig)
    (folder / "police.toml").write_text(_north_text("2026.2"), encoding="utf-8")
    dev_approve_all(north_ig, folder, NORTH_APPROVERS, at=NOW)
    _export(north_ig, north_bundle, NORTH_APPROVERS[0])
    install_bundle(agency, north_bundle, at=NOW)
    after = load_engine(agency)
    assert after.version_of(NORTH) != north_version
    assert after.version_of("mash-demo") == engine.version_of("mash-demo")
    assert _files(mashes_dir(agency) / "mash-demo") == demo_files
    assert _applied(agency) == 6


def test_one_mashs_approver_cannot_sign_for_another_mash(
        ig_home: Home, north_ig: Home, tmp_path: Path) -> None:
    agency = Home.at(tmp_path / "police-adapter")
    demo_bundle, north_bundle = tmp_path / "demo.json", tmp_path / "north.json"
    _export(ig_home, demo_bundle)
    north_doc = _export(north_ig, north_bundle, NORTH_APPROVERS[0])
    install_bundle(agency, demo_bundle, pin_approvers=True, at=NOW)
    install_bundle(agency, north_bundle, pin_approvers=True, at=NOW)
    before = _files(mashes_dir(agency))

    # North's approver signs a bundle that says it is demo's: not a demo approver here.
    as_demo = {k: v for k, v in north_doc.items() if k != "signature"} | {"mash_id": "mash-demo"}
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(sign_bundle(as_demo, load_approver_key(north_ig,
                                                                         NORTH_APPROVERS[0]))))
    with pytest.raises(BundleError, match="'ig-lead-nadia', who is not a pinned approver of "
                                          "mash-demo"):
        install_bundle(agency, forged)

    # North's own bundle, holding an agreement that would govern demo's queries.
    demo_police = (agreements_dir(ig_home) / "police.toml").read_text(encoding="utf-8")
    body = {k: v for k, v in north_doc.items() if k != "signature"}
    body["agreements"] = {**body["agreements"], "demo-police.toml": demo_police}
    overreach = tmp_path / "overreach.json"
    overreach.write_text(json.dumps(sign_bundle(body, load_approver_key(north_ig,
                                                                        NORTH_APPROVERS[0]))))
    with pytest.raises(BundleError) as refused:
        install_bundle(agency, overreach)
    assert "dsa-mash-demo-police" in str(refused.value)
    assert "mash_id = 'mash-demo'" in str(refused.value)
    assert "queries from broker mash-demo" in str(refused.value)
    assert _files(mashes_dir(agency)) == before


def test_an_altered_bundle_is_refused_and_nothing_changes(ig_home: Home, tmp_path: Path) -> None:
    bundle = tmp_path / "policy.json"
    doc = _export(ig_home, bundle)
    agency = Home.at(tmp_path / "agency")
    install_bundle(agency, bundle, pin_approvers=True)
    before = _files(mashes_dir(agency))
    agreements = dict(doc["agreements"])
    name = sorted(agreements)[0]
    agreements[name] = agreements[name].replace("valid_for_minutes = 240", "valid_for_minutes = 9999")
    bundle.write_text(json.dumps({**doc, "agreements": agreements}))
    with pytest.raises(BundleError, match="does not verify"):
        install_bundle(agency, bundle)
    assert _files(mashes_dir(agency)) == before
    # Nor can the MASH it names be changed: the signature covers it.
    bundle.write_text(json.dumps({**doc, "mash_id": NORTH}))
    with pytest.raises(BundleError, match="not a pinned approver of mash-north"):
        install_bundle(agency, bundle, pin_approvers=False)
    assert _files(mashes_dir(agency)) == before


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
    approvals = [dict(a) for a in doc["approvals"]]
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
    bundle.write_text(json.dumps(sign_bundle(body, load_approver_key(ig_home, DEV_APPROVERS[0]))))
    with pytest.raises(BundleError, match="not allowed"):
        install_bundle(agency, bundle)
    assert not (tmp_path / "evil.toml").exists()
    assert not [p for p in (mashes_dir(agency) / "mash-demo").iterdir()
                if p.name.startswith(".staging")]


def test_export_refuses_another_mashs_agreement(ig_home: Home, north_ig: Home,
                                                tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name, ig in (("demo", ig_home), ("north", north_ig)):
        (folder / f"{name}.toml").write_text((agreements_dir(ig) / "police.toml").read_text())
    key = load_approver_key(ig_home, DEV_APPROVERS[0])
    with pytest.raises(BundleError, match="--mash"):
        export_bundle(ig_home, folder, signer=DEV_APPROVERS[0], key=key, at=NOW)
    with pytest.raises(BundleError, match="is an agreement with mash-north, not mash-demo"):
        export_bundle(ig_home, folder, signer=DEV_APPROVERS[0], key=key, at=NOW,
                      mash_id="mash-demo")


def test_a_bundle_naming_no_mash_still_installs_into_the_homes_own_folder(
        ig_home: Home, north_ig: Home, tmp_path: Path) -> None:
    key = load_approver_key(ig_home, DEV_APPROVERS[0])
    doc = bundle_json(export_bundle(ig_home, agreements_dir(ig_home), signer=DEV_APPROVERS[0],
                                    key=key, at=NOW))
    body = {k: v for k, v in doc.items() if k not in ("signature", "mash_id")}
    legacy = tmp_path / "v1.json"
    legacy.write_text(json.dumps(sign_bundle(body | {"type": BUNDLE_TYPE}, key)))
    agency = Home.at(tmp_path / "agency")
    with pytest.raises(BundleError, match="pins no approvers"):
        install_bundle(agency, legacy)
    done = install_bundle(agency, legacy, pin_approvers=True)
    assert done.mash_id == "" and len(done.agreements) == 5 and not done.superseded
    assert len(list(agreements_dir(agency).glob("*.toml"))) == 5 and _applied(agency) == 5

    # A MASH's own bundle then governs that MASH; the home's folder still governs the rest.
    north = tmp_path / "north.json"
    _export(north_ig, north, NORTH_APPROVERS[0])
    install_bundle(agency, north, pin_approvers=True)
    assert _applied(agency) == 6 and not load_engine(agency).superseded


def test_a_slot_holding_another_mashs_agreement_does_not_load(
        ig_home: Home, north_ig: Home, tmp_path: Path) -> None:
    agency = Home.at(tmp_path / "agency")
    north = tmp_path / "north.json"
    _export(north_ig, north, NORTH_APPROVERS[0])
    install_bundle(agency, north, pin_approvers=True)
    slot = read_slot(agency, NORTH)
    assert slot is not None
    # Someone drops demo's agreement into north's slot by hand: fail closed, naming it.
    (slot.agreements / "demo.toml").write_text(
        (agreements_dir(ig_home) / "police.toml").read_text())
    with pytest.raises(AgreementInvalid, match="installed for mash-north but names mash-demo"):
        load_engine(agency)


def test_garbage_is_not_a_bundle(tmp_path: Path) -> None:
    home = Home.at(tmp_path / "agency")
    for text in ("not json", "[]", json.dumps({"type": "mash-policy-bundle/v1"}),
                 json.dumps({"type": "mash-policy-bundle/v2"})):
        path = tmp_path / "b.json"
        path.write_text(text)
        with pytest.raises(BundleError):
            install_bundle(home, path)
