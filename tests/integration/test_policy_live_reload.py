"""A policy bundle installed while the broker and an adapter run reaches both, no restart.

The IG lead's home exports a signed bundle; the running parties' home installs it with the
CLI; both processes reload it (their status files name the new version, `mash policy status
--live` agrees) and the next lookup is decided under it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cli import main
from mash.app.cluster import Cluster, prepare_home
from mash.home import Home
from mash.vocab import Agency, AgencyStatus, Role
from policy.approval import approvals_dir
from tests.integration.helpers import demo_subjects, red_request, statuses

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

POLICE = Agency.POLICE


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Home, Cluster]]:
    home = Home.at(tmp_path_factory.mktemp("live-policy"))
    prepare_home(home, people=120, seed=4)
    with Cluster(home, agencies=(POLICE,)) as cluster:
        yield home, cluster


def _versions(home: Home) -> dict[str, str]:
    return {p.stem.removesuffix(".policy"): json.loads(p.read_text())["version"]
            for p in home.run_dir.glob("*.policy.json")}


def _await_versions(home: Home, differ_from: str) -> dict[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        versions = _versions(home)
        if len(versions) == 2 and differ_from not in versions.values() and \
                len(set(versions.values())) == 1:
            return versions
        time.sleep(0.2)
    raise AssertionError(f"the running parties did not reload: {_versions(home)}")


def _police(home: Home, cluster: Cluster, referral: str) -> str:
    token = issue_token(home, sub="sw-58", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, cluster.broker.address, token) as client:
        return statuses(client.lookup(red_request(referral, demo_subjects(home))))["police"]


def test_a_bundle_installed_while_running_is_applied_by_broker_and_adapter(
        live: tuple[Home, Cluster], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, cluster = live
    assert _police(home, cluster, "REF-LIVE-1") == AgencyStatus.DISCLOSED
    first = _versions(home)
    assert set(first) == {"adapter-police", "broker-mash-demo"} and len(set(first.values())) == 1
    assert main(["policy", "status", "--live", "--home", str(home.root)]) == 0

    # The IG lead publishes: today's approvals, then the police approvals withdrawn.
    bundle = tmp_path / "policy-bundle.json"
    assert main(["policy", "bundle", "export", "--as", "ig-lead-alex", "--out", str(bundle),
                 "--home", str(home.root)]) == 0
    saved = tmp_path / "approvals"
    shutil.copytree(approvals_dir(home), saved)
    shutil.rmtree(approvals_dir(home) / "dsa-mash-demo-police")
    withdrawn = _await_versions(home, differ_from=next(iter(first.values())))
    assert _police(home, cluster, "REF-LIVE-2") == AgencyStatus.WITHHELD

    # Installing the bundle puts the approvals back; both parties take it without a restart.
    # (the first bundle of this MASH on the host: its approvers are pinned for it)
    assert main(["policy", "bundle", "install", str(bundle), "--pin-approvers",
                 "--home", str(home.root)]) == 0
    restored = _await_versions(home, differ_from=next(iter(withdrawn.values())))
    assert restored == first
    assert _police(home, cluster, "REF-LIVE-3") == AgencyStatus.DISCLOSED
    capsys.readouterr()
    assert main(["policy", "status", "--live", "--format", "json", "--home", str(home.root)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["differ"] == [] and {p["version"] for p in shown["parties"]} == set(first.values())


def test_a_bundle_from_an_unknown_signer_is_refused_by_the_cli(
        live: tuple[Home, Cluster], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, _ = live
    bundle = tmp_path / "b.json"
    assert main(["policy", "bundle", "export", "--as", "ig-lead-alex", "--out", str(bundle),
                 "--home", str(home.root)]) == 0
    doc = json.loads(bundle.read_text())
    bundle.write_text(json.dumps({**doc, "signer": "someone-else"}))
    assert main(["policy", "bundle", "install", str(bundle), "--home", str(home.root)]) == 2
    assert "not a pinned approver" in capsys.readouterr().err
