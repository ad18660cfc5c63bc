"""The broker and the adapters witness each other's checkpoints over the real exchange (threat:
a host holding its own checkpoint key rewrites or cuts its log; only a witness can show it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audit.witness import WitnessStore
from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cli import main
from mash.app.cluster import Cluster, prepare_home
from mash.home import Home
from mash.vocab import Role
from tests.integration.helpers import demo_subjects, red_request
from tests.security.audit_attacks import cut_tail

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

BROKER = "broker-mash-demo"


def _lookup(home: Home, referral: str) -> None:
    token = issue_token(home, sub="sw-104", role=Role.MASH_SOCIAL_WORKER)
    with Cluster(home) as cluster, BrokerClient(home, cluster.broker.address, token) as client:
        client.lookup(red_request(referral, demo_subjects(home)))


def _witnessed(home: Home, witness: str) -> dict[str, int]:
    store = WitnessStore.open_readonly(home.witness_dir / f"{witness}.sqlite")
    try:
        return {log: cp.tree_size for log, cp in store.latest().items()}
    finally:
        store.close()


def test_each_side_keeps_the_others_checkpoints_and_verify_holds_the_logs_to_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.at(tmp_path / "home")
    prepare_home(home, people=60, seed=3)
    _lookup(home, "REF-WIT-1")  # each log ends with a signed checkpoint when its service stops
    _lookup(home, "REF-WIT-2")  # ...which rides on this lookup's queries and disclosures

    by_broker = _witnessed(home, BROKER)
    assert {"adapter-police", "adapter-health", "adapter-education",
            "adapter-housing"} <= set(by_broker)
    assert BROKER in _witnessed(home, "adapter-police")
    capsys.readouterr()
    assert main(["audit", "verify", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    assert "witnessed" in out.split(f"{BROKER}.sqlite")[1].splitlines()[0]

    # The police host cuts its log back before what the broker witnessed, checkpoints too.
    attacked = Home.at(tmp_path / "attacked")
    shutil.copytree(home.root, attacked.root)
    cut_tail(attacked.audit_log("adapter-police"), keep=by_broker["adapter-police"] - 1)
    assert main(["audit", "verify", "--home", str(attacked.root)]) == 1
    assert "FAIL adapter-police.sqlite" in capsys.readouterr().out
