"""Broker -> health adapter -> a FHIR R4 server holding the synthetic health data.

Real processes over mTLS on loopback and real signatures; the adapter's FHIR backend reaches
the server over HTTPS with its real HTTP client, through the shipped template mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, MatchBand, Role
from tests.fhir_server import FhirServer, fhir_server
from tests.integration.helpers import demo_subjects, red_request, statuses
from tests.tls_files import make_tls_files

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[2] / "agency_adapters/templates/fhir-mapping.toml"
HEALTH = Agency.HEALTH


@pytest.fixture(scope="module")
def fhir(home: Home, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    tls = make_tls_files(tmp_path_factory.mktemp("fhir-tls"), "fhir")
    with fhir_server(home.agency_store(HEALTH), tls) as server:
        server.ca_file = str(tls.ca)  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def fhir_cluster(home: Home, fhir: FhirServer) -> Iterator[Cluster]:
    settings = {"backend": "fhir", "health_interval_s": 0.5,
                "backend_options": {"mapping": str(TEMPLATE), "base_url": fhir.base_url,
                                    "ca_file": fhir.ca_file,  # type: ignore[attr-defined]
                                    "timeout_s": 2, "retries": 0}}
    with Cluster(home, agencies=(HEALTH, Agency.POLICE),
                 adapter_settings={HEALTH: settings}) as cluster:
        yield cluster


def _lookup(home: Home, cluster: Cluster, referral: str) -> pb.ReferralSummary:
    token = issue_token(home, sub="sw-56", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, cluster.broker.address, token) as client:
        return client.lookup(red_request(referral, demo_subjects(home)))


def test_a_lookup_discloses_signed_facts_read_from_the_fhir_server(
        home: Home, fhir: FhirServer, fhir_cluster: Cluster) -> None:
    summary = _lookup(home, fhir_cluster, "REF-FHIR-0001")
    assert statuses(summary) == {"health": AgencyStatus.DISCLOSED, "police": AgencyStatus.DISCLOSED}
    health = next(a for a in summary.agencies if a.agency == "health")
    child = health.subjects[0]
    assert child.match_band in (MatchBand.CERTAIN, MatchBand.HIGH)
    assert child.facts
    assert {f.record_id.split("/")[0] for f in child.facts} <= {"Encounter", "EpisodeOfCare", "Flag"}
    assert "/R4/Patient" in fhir.requests
    assert not health.data_as_of, "a live FHIR server is not a copy"


def test_a_failing_fhir_server_is_reported_and_the_others_still_answer(
        home: Home, fhir: FhirServer, fhir_cluster: Cluster) -> None:
    fhir.fault = "500"
    try:
        summary = _lookup(home, fhir_cluster, "REF-FHIR-0002")
    finally:
        fhir.fault = None
    health = next(a for a in summary.agencies if a.agency == "health")
    assert health.status == AgencyStatus.UNAVAILABLE
    assert "backend_unavailable" in [r.code for r in health.reasons]
    assert all(not s.facts for s in health.subjects)
    assert statuses(summary)["police"] == AgencyStatus.DISCLOSED
    again = _lookup(home, fhir_cluster, "REF-FHIR-0003")
    assert statuses(again)["health"] == AgencyStatus.DISCLOSED
    state = json.loads((home.run_dir / "adapter-health.health.json").read_text())
    assert "backend" in state["components"]
