"""One police adapter serves several MASHs: each broker is answered under its own agreement.

A police force covers several local authorities, so one adapter process trusts several
brokers (each by its own certificate and pinned query-signing key), holds one agreement per
MASH, signs each answer for the broker that asked, and logs each disclosure against that
MASH. Here three brokers share one police adapter over real mTLS:

- `mash-demo` and `mash-north` each hold an approved agreement in force at the adapter and
  are answered under it;
- `mash-south` holds a renewed agreement that never reached the adapter, which still holds
  the expired one: the adapter withholds, saying so, and discloses nothing;
- demo's and north's IG leads each publish a signed policy bundle, installed into that
  MASH's own place on the adapter's host with that MASH's own approvers pinned: each broker
  is answered under its own MASH's bundle, one MASH's new bundle leaves the other's answers
  as they were, and a bundle that overreaches, is signed by another MASH's approver or was
  altered is refused with nothing changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agency_adapters.config import AdapterConfig
from agency_adapters.operator.check import check_policy
from broker.client import BrokerClient
from certs.names import PeerKind, Principal
from certs.pki import issue
from identity.tokens import issue_token
from mash.app.cli import main
from mash.app.cluster import Cluster, prepare_home
from mash.clock import london_today, utc_now
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, Decision, Role
from policy import dev_approve_all
from policy.approval import DEV_APPROVERS, agreements_dir, load_approver_key
from policy.bundle import sign_bundle
from policy.demo_agreements import readdress, redate
from policy.mash_slots import mashes_dir
from tests.integration.helpers import audit_rows, demo_subjects, red_request

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

POLICE = Agency.POLICE
DEMO, NORTH, SOUTH = "mash-demo", "mash-north", "mash-south"
EXPIRED_SOUTH = "dsa-mash-south-police-2025"


@dataclass
class Region:
    """The home, the running cluster (demo broker + police adapter) and the other brokers."""

    home: Home
    cluster: Cluster
    addresses: dict[str, str]


def _agreements(home: Home, south_dir: Path) -> None:
    """North's agreement at both ends; south's renewal at its broker, the expired one here."""
    folder = agreements_dir(home)
    police = (folder / "police.toml").read_text(encoding="utf-8")
    (folder / "north-police.toml").write_text(readdress(police, NORTH), encoding="utf-8")
    south = readdress(police, SOUTH)
    south_dir.mkdir()
    (south_dir / "south-police.toml").write_text(south, encoding="utf-8")
    # The agreement before the renewal: the same terms, ended a month ago.
    ended = redate(south, -timedelta(days=(_until(south) - london_today()).days + 30))
    (folder / "south-police-2025.toml").write_text(
        ended.replace('id = "dsa-mash-south-police"', f'id = "{EXPIRED_SOUTH}"', 1),
        encoding="utf-8")
    dev_approve_all(home, folder)
    dev_approve_all(home, south_dir)


def _until(text: str) -> date:
    line = next(x for x in text.splitlines() if x.startswith("in_force_until"))
    return date.fromisoformat(line.split("=", 1)[1].strip())


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Region]:
    root = tmp_path_factory.mktemp("several-mashs")
    home = Home.at(root / "home")
    prepare_home(home, people=120, seed=4)
    for mash in (NORTH, SOUTH):
        issue(home, Principal(PeerKind.BROKER, mash))  # its own certificate and keys
    _agreements(home, root / "south-policy")
    brokers = (DEMO, NORTH, SOUTH)
    with Cluster(home, agencies=(POLICE,),
                 adapter_settings={POLICE: {"trusted_brokers": brokers}}) as cluster:
        addresses = {DEMO: cluster.broker.address,
                     NORTH: cluster.add_broker(NORTH).address,
                     SOUTH: cluster.add_broker(SOUTH, policy_dir=root / "south-policy").address}
        yield Region(home, cluster, addresses)


def _police(region: Region, mash: str, referral: str) -> pb.AgencyResult:
    token = issue_token(region.home, sub=f"sw-{mash}", role=Role.MASH_SOCIAL_WORKER,
                        broker_id=mash)
    with BrokerClient(region.home, region.addresses[mash], token, broker_id=mash) as client:
        summary = client.lookup(red_request(referral, demo_subjects(region.home)))
    assert summary.broker_id == mash
    return next(a for a in summary.agencies if a.agency == POLICE)


def _adapter_entries(region: Region, referral: str) -> list[dict[str, object]]:
    rows = audit_rows(region.home.audit_log("adapter-police"), referral)
    entries = [json.loads(r) for r in rows if r.startswith("{")]
    return [e for e in entries if e.get("kind") == "disclosure_sent"]


@pytest.mark.parametrize("mash", [DEMO, NORTH])
def test_each_mash_is_answered_under_its_own_agreement(region: Region, mash: str) -> None:
    referral = f"REF-{mash.upper()}-1"
    police = _police(region, mash, referral)
    assert police.status == AgencyStatus.DISCLOSED
    assert police.agreement_id == f"dsa-{mash}-police"
    assert any(s.facts for s in police.subjects)

    # The adapter logged this disclosure against the MASH that asked, under its agreement.
    sent = _adapter_entries(region, referral)
    assert len(sent) == 1
    assert sent[0]["actor_org"] == mash and sent[0]["agreement_id"] == f"dsa-{mash}-police"
    # Each broker's own log holds its own lookup, and no other MASH's.
    for other in (DEMO, NORTH, SOUTH):
        held = audit_rows(region.home.audit_log(f"broker-{other}"), referral)
        assert bool(held) == (other == mash), other


def test_the_adapter_log_is_searched_per_mash(
        region: Region, capsys: pytest.CaptureFixture[str]) -> None:
    for mash in (DEMO, NORTH):
        _police(region, mash, f"REF-{mash.upper()}-SEARCH")
    capsys.readouterr()
    assert main(["audit", "search", "--org", NORTH, "--log", "adapter-police", "--kind",
                 "disclosure_sent", "--format", "json", "--home", str(region.home.root)]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found and {e["actor_org"] for e in found} == {NORTH}
    assert "REF-MASH-NORTH-SEARCH" in {e["referral_id"] for e in found}


def test_a_mash_whose_agreement_is_not_in_force_at_the_adapter_is_refused_with_the_reason(
        region: Region) -> None:
    referral = "REF-SOUTH-1"
    police = _police(region, SOUTH, referral)
    assert police.status == AgencyStatus.WITHHELD
    assert not any(s.facts for s in police.subjects)
    expired = [r for r in police.reasons if r.code == "agreement_expired"]
    assert expired and EXPIRED_SOUTH in expired[0].text
    sent = _adapter_entries(region, referral)
    assert len(sent) == 1
    assert sent[0]["actor_org"] == SOUTH and sent[0]["decision"] == Decision.DENY
    assert "agreement_expired" in sent[0]["reasons"]  # type: ignore[operator]


def test_a_broker_the_adapter_does_not_list_is_refused(region: Region, tmp_path: Path) -> None:
    # A MASH with a certificate of the same CA, a pinned key and an agreement of its own,
    # that this adapter does not serve (not in its trusted_brokers).
    issue(region.home, Principal(PeerKind.BROKER, "mash-east"))
    police = (agreements_dir(region.home) / "police.toml").read_text(encoding="utf-8")
    (tmp_path / "east-police.toml").write_text(readdress(police, "mash-east"), encoding="utf-8")
    dev_approve_all(region.home, tmp_path)
    east = region.cluster.add_broker("mash-east", policy_dir=tmp_path)
    token = issue_token(region.home, sub="sw-east", role=Role.MASH_SOCIAL_WORKER,
                        broker_id="mash-east")
    with BrokerClient(region.home, east.address, token, broker_id="mash-east") as client:
        summary = client.lookup(red_request("REF-EAST-1", demo_subjects(region.home)))
    answer = next(a for a in summary.agencies if a.agency == POLICE)
    assert answer.status == AgencyStatus.WITHHELD and not answer.subjects
    assert "adapter_refused" in [r.code for r in answer.reasons]
    assert not _adapter_entries(region, "REF-EAST-1")
    refused = [json.loads(r) for r in audit_rows(region.home.audit_log("adapter-police"),
                                                 "untrusted_peer") if r.startswith("{")]
    assert any("broker-mash-east" in json.dumps(e) for e in refused)


# ---------------------------------------------------------------- each MASH's own bundle

NORTH_APPROVERS = ("ig-lead-nadia", "caldicott-guardian-north")
DEMO_FILES = ("childrens_social_care.toml", "education.toml", "health.toml", "housing.toml",
              "police.toml")


def _ig_lead(root: Path, files: dict[str, str], approvers: tuple[str, ...]) -> Home:
    """A MASH IG lead's own home: its agreements, approved by its own approvers' keys."""
    ig = Home.at(root)
    folder = agreements_dir(ig)
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    dev_approve_all(ig, folder, approvers)
    return ig


def _north_text(police: str, label: str) -> str:
    """North's agreement with the police, approved by north's own approvers, version `label`."""
    return readdress(police, NORTH).replace(
        'approvers = ["ig-lead-alex", "caldicott-guardian-sam"]',
        f"approvers = {json.dumps(list(NORTH_APPROVERS))}", 1).replace(
        'version = "2026.1"', f'version = "{label}"', 1)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _parties(home: Home) -> dict[str, dict[str, Any]]:
    out = {}
    for path in home.run_dir.glob("*.policy.json"):
        with contextlib.suppress(OSError, ValueError):
            out[path.name.removesuffix(".policy.json")] = json.loads(path.read_text())
    return out


def _await_bundle(home: Home, mash: str, sha256: str) -> dict[str, Any]:
    """Wait until every running party applies `mash`'s bundle `sha256`; the adapter's entry."""
    give_up = time.monotonic() + 60
    while True:
        parties = _parties(home)
        held = {name: ((p.get("mashes") or {}).get(mash) or {}).get("bundle", {}).get("sha256")
                for name, p in parties.items()}
        if parties and set(held.values()) == {sha256}:
            entry: dict[str, Any] = parties["adapter-police"]["mashes"][mash]
            return entry
        assert time.monotonic() < give_up, f"not every party reloaded {mash}'s bundle: {held}"
        time.sleep(0.2)


def _slot_files(home: Home, mash: str) -> dict[str, bytes]:
    root = mashes_dir(home) / mash
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_each_mash_installs_its_own_signed_bundle_on_the_shared_adapter(
        region: Region, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, root = region.home, str(region.home.root)
    own = agreements_dir(home)
    police = (own / "police.toml").read_text(encoding="utf-8")
    demo_ig = _ig_lead(tmp_path / "demo-ig",
                       {n: (own / n).read_text(encoding="utf-8") for n in DEMO_FILES},
                       DEV_APPROVERS)
    north_ig = _ig_lead(tmp_path / "north-ig", {"police.toml": _north_text(police, "2026.2")},
                        NORTH_APPROVERS)
    demo_bundle, north_bundle = tmp_path / "demo.json", tmp_path / "north.json"
    for ig, signer, out in ((demo_ig, DEV_APPROVERS[0], demo_bundle),
                            (north_ig, NORTH_APPROVERS[0], north_bundle)):
        code, _, err = _cli(capsys, "policy", "bundle", "export", "--as", signer, "--out",
                            str(out), "--home", str(ig.root))
        assert code == 0, err

    # The police IT team installs each MASH's bundle into that MASH's slot, pinning each
    # MASH's approvers on its first install.
    for bundle, mash in ((demo_bundle, DEMO), (north_bundle, NORTH)):
        code, out, err = _cli(capsys, "policy", "bundle", "install", str(bundle),
                              "--pin-approvers", "--home", root)
        assert code == 0 and f"for {mash}" in out, err
    demo_sha = hashlib.sha256(demo_bundle.read_bytes()).hexdigest()
    north_sha = hashlib.sha256(north_bundle.read_bytes()).hexdigest()
    demo_entry = _await_bundle(home, DEMO, demo_sha)
    north_entry = _await_bundle(home, NORTH, north_sha)
    assert north_entry["agreements"] == ["dsa-mash-north-police"]
    assert north_entry["bundle"]["signer"] == NORTH_APPROVERS[0]

    # Each broker is answered under the agreement its own MASH published, and every answer
    # names the policy version the adapter applies to that MASH.
    north_police = _police(region, NORTH, "REF-NORTH-BUNDLE-1")
    assert north_police.status == AgencyStatus.DISCLOSED
    assert north_police.agreement_version == hashlib.sha256(
        _north_text(police, "2026.2").encode()).hexdigest()
    assert north_police.policy_version == north_entry["version"]
    demo_police = _police(region, DEMO, "REF-DEMO-BUNDLE-1")
    assert demo_police.status == AgencyStatus.DISCLOSED
    assert demo_police.agreement_version == hashlib.sha256(police.encode()).hexdigest()
    assert demo_police.policy_version == demo_entry["version"] != north_entry["version"]
    health = json.loads((home.run_dir / "adapter-police.health.json").read_text())
    assert health["policy"]["mashes"][NORTH]["version"] == north_entry["version"]

    # North publishes a new version: north's answers follow it, demo's do not move.
    demo_files = _slot_files(home, DEMO)
    north_ig_folder = agreements_dir(north_ig)
    (north_ig_folder / "police.toml").write_text(_north_text(police, "2026.3"), encoding="utf-8")
    dev_approve_all(north_ig, north_ig_folder, NORTH_APPROVERS)
    assert _cli(capsys, "policy", "bundle", "export", "--as", NORTH_APPROVERS[0], "--out",
                str(north_bundle), "--home", str(north_ig.root))[0] == 0
    assert _cli(capsys, "policy", "bundle", "install", str(north_bundle), "--home", root)[0] == 0
    renewed = _await_bundle(home, NORTH, hashlib.sha256(north_bundle.read_bytes()).hexdigest())
    assert renewed["version"] != north_entry["version"]
    assert _police(region, NORTH, "REF-NORTH-BUNDLE-2").policy_version == renewed["version"]
    again = _police(region, DEMO, "REF-DEMO-BUNDLE-2")
    assert (again.status, again.agreement_version, again.policy_version) == (
        AgencyStatus.DISCLOSED, demo_police.agreement_version, demo_police.policy_version)
    assert _slot_files(home, DEMO) == demo_files

    # Refused, and nothing changes: north's approver publishing an agreement that would
    # govern demo's queries; north's approver signing a bundle that says it is demo's; a
    # bundle altered in transit.
    before = {m: _slot_files(home, m) for m in (DEMO, NORTH)}
    signed = json.loads(north_bundle.read_text())
    body = {k: v for k, v in signed.items() if k != "signature"}
    north_key = load_approver_key(north_ig, NORTH_APPROVERS[0])
    overreach = tmp_path / "overreach.json"
    overreach.write_text(json.dumps(sign_bundle(
        {**body, "agreements": {**body["agreements"], "demo-police.toml": police}}, north_key)))
    code, _, err = _cli(capsys, "policy", "bundle", "install", str(overreach), "--home", root)
    assert code == 2
    assert "dsa-mash-demo-police" in err and "queries from broker mash-demo" in err
    as_demo = tmp_path / "as-demo.json"
    as_demo.write_text(json.dumps(sign_bundle({**body, "mash_id": DEMO}, north_key)))
    code, _, err = _cli(capsys, "policy", "bundle", "install", str(as_demo), "--home", root)
    assert code == 2 and f"'{NORTH_APPROVERS[0]}', who is not a pinned approver of mash-demo" in err
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**signed, "agreements": {
        "police.toml": _north_text(police, "2026.3").replace("rag = [\"red\"]",
                                                            "rag = [\"red\", \"amber\"]", 1)}}))
    code, _, err = _cli(capsys, "policy", "bundle", "install", str(tampered), "--home", root)
    assert code == 2 and "does not verify" in err
    assert {m: _slot_files(home, m) for m in (DEMO, NORTH)} == before

    # The operator's view, per MASH: the running parties, and the adapter's own check.
    code, out, _ = _cli(capsys, "policy", "status", "--live", "--format", "json",
                        "--home", root)
    live = {p["party"]: p for p in json.loads(out)["parties"]}
    assert live["adapter-police"]["mashes"][NORTH]["version"] == renewed["version"]
    assert live["adapter-police"]["mashes"][DEMO]["source"] == "bundle"
    # (south's agreement here has expired: the check is of the MASHs with a bundle)
    config = replace(AdapterConfig.load(home.config_dir / "adapter-police.toml"),
                     trusted_brokers=(DEMO, NORTH))
    checked = check_policy(config, utc_now())
    assert checked.code == 0 and f"{NORTH}: dsa-mash-north-police" in checked.detail
