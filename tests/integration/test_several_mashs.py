"""One police adapter serves several MASHs: each broker is answered under its own agreement.

A police force covers several local authorities, so one adapter process trusts several
brokers (each by its own certificate and pinned query-signing key), holds one agreement per
MASH, signs each answer for the broker that asked, and logs each disclosure against that
MASH. Here three brokers share one police adapter over real mTLS:

- `mash-demo` and `mash-north` each hold an approved agreement in force at the adapter and
  are answered under it;
- `mash-south` holds a renewed agreement that never reached the adapter, which still holds
  the expired one: the adapter withholds, saying so, and discloses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from broker.client import BrokerClient
from certs.names import PeerKind, Principal
from certs.pki import issue
from identity.tokens import issue_token
from mash.app.cli import main
from mash.app.cluster import Cluster, prepare_home
from mash.clock import london_today
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, Decision, Role
from policy import dev_approve_all
from policy.approval import agreements_dir
from policy.demo_agreements import readdress, redate
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
