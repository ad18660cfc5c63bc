"""Broker -> police adapter -> the force's nightly extract, over real mTLS with real signatures.

The extract is written as the force's export job would (CSV files, then the ready file);
the adapter takes it, answers "data as of" its time, keeps serving it when a bad extract
arrives (reporting the fault in health) and swaps in the next good one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agency_adapters.extract.template import schema_text, write_extract
from agency_adapters.sqlite_store import SqliteAgencyStore
from broker.client import BrokerClient
from broker.summary_text import format_summary
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, Role
from tests.integration.helpers import demo_subjects, red_request, statuses

pytestmark = pytest.mark.integration

# Extract times relative to the run (an older one would be reported as stale in health).
_NOW = datetime.now(UTC).replace(microsecond=0)
T1 = (_NOW - timedelta(hours=26)).isoformat()
T2 = (_NOW - timedelta(hours=2)).isoformat()


@pytest.fixture(scope="module")
def incoming(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("police-incoming")


@pytest.fixture(scope="module")
def extract_cluster(home: Home, incoming: Path,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("police-extract")
    schema = folder / "extract-schema.toml"
    schema.write_text(schema_text(Agency.POLICE))
    _export(home, incoming, T1)
    settings = {"backend": "extract", "health_interval_s": 0.2,
                "backend_options": {"schema": str(schema), "incoming": str(incoming),
                                    "work": str(folder / "work"), "poll_interval_s": 0.2}}
    with Cluster(home, agencies=(Agency.POLICE, Agency.HEALTH),
                 adapter_settings={Agency.POLICE: settings}) as cluster:
        yield cluster


def _export(home: Home, incoming: Path, as_of: str) -> None:
    with SqliteAgencyStore(home.agency_store(Agency.POLICE)) as store:
        write_extract(store, incoming, Agency.POLICE, as_of)


def _lookup(home: Home, cluster: Cluster, referral: str) -> pb.ReferralSummary:
    token = issue_token(home, sub="sw-61", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, cluster.broker.address, token) as client:
        return client.lookup(red_request(referral, demo_subjects(home)))


def _police(summary: pb.ReferralSummary) -> pb.AgencyResult:
    return next(a for a in summary.agencies if a.agency == "police")


def _health(home: Home) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (home.run_dir / "adapter-police.health.json").read_text())
    return data


def _eventually(check: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    give_up = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > give_up:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)


def _backend_fault(home: Home) -> str:
    components = _health(home)["components"]
    assert isinstance(components, dict)
    return str(components["backend"]["fault"])


def test_the_extract_is_disclosed_with_the_time_it_was_taken(
        home: Home, extract_cluster: Cluster) -> None:
    summary = _lookup(home, extract_cluster, "REF-EXT-0001")
    assert statuses(summary) == {"police": AgencyStatus.DISCLOSED,
                                 "health": AgencyStatus.DISCLOSED}
    police = _police(summary)
    assert police.data_as_of == T1
    assert any(f.category == "domestic_abuse_incidents" for s in police.subjects for f in s.facts)
    assert f"data as of {T1}" in format_summary(summary)
    assert not next(a for a in summary.agencies if a.agency == "health").data_as_of


def _deliver(staging: Path, incoming: Path) -> None:
    """Move a written extract into the incoming folder as an export job does: the ready file last."""
    for name in ("people.csv", "records.csv", "extract.ready"):
        (staging / name).replace(incoming / name)


def test_a_bad_extract_is_refused_and_the_good_one_kept_then_the_next_swapped_in(
        home: Home, extract_cluster: Cluster, incoming: Path, tmp_path: Path) -> None:
    # Spoilt before it is delivered: written straight into `incoming`, the adapter could take
    # the good extract in the moment between its ready file and the spoiling.
    _export(home, tmp_path, T2)
    people = tmp_path / "people.csv"
    lines = people.read_text().splitlines()
    lines[0] = lines[0].replace("date_of_birth", "dob")
    people.write_text("\n".join(lines) + "\n")
    _deliver(tmp_path, incoming)
    _eventually(lambda: "header column 5 is 'dob'" in _backend_fault(home),
                "the refused extract is reported in health")
    summary = _lookup(home, extract_cluster, "REF-EXT-0002")
    assert _police(summary).status == AgencyStatus.DISCLOSED
    assert _police(summary).data_as_of == T1, "still serving the last good extract"
    assert _health(home)["serving"] is True
    # the force fixes its export: the next extract passes and is swapped in
    _export(home, incoming, T2)
    _eventually(lambda: _backend_fault(home) == "", "the fault clears")
    again = _lookup(home, extract_cluster, "REF-EXT-0003")
    assert _police(again).data_as_of == T2
    assert _police(again).status == AgencyStatus.DISCLOSED
