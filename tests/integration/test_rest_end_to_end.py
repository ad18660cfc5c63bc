"""Broker -> education adapter -> school MIS middleware over REST/JSON.

Real processes over mTLS on loopback and real signatures; the adapter's REST backend reaches
the middleware over HTTPS with an API key read from a private file, through the shipped
template mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, MatchBand, Role
from tests.integration.helpers import demo_subjects, red_request, statuses
from tests.school_api import API_KEY, SchoolApi, school_api
from tests.tls_files import make_tls_files

pytestmark = pytest.mark.integration

TEMPLATE = Path(__file__).resolve().parents[2] / "agency_adapters/templates/rest-mapping.toml"
EDUCATION = Agency.EDUCATION


@pytest.fixture(scope="module")
def api(home: Home, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SchoolApi, Path]]:
    folder = tmp_path_factory.mktemp("school")
    tls = make_tls_files(folder, "school-mis")
    with school_api(home.agency_store(EDUCATION), tls) as server:
        yield server, tls.ca


@pytest.fixture(scope="module")
def rest_cluster(home: Home, api: tuple[SchoolApi, Path],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    server, ca = api
    secret = tmp_path_factory.mktemp("secrets") / "api-key"
    secret.write_text(API_KEY)
    secret.chmod(0o600)
    settings = {"backend": "rest", "health_interval_s": 0.5,
                "backend_options": {"mapping": str(TEMPLATE), "base_url": server.base_url,
                                    "ca_file": str(ca), "auth_header": "X-API-Key",
                                    "secret_file": str(secret), "timeout_s": 2, "retries": 0}}
    with Cluster(home, agencies=(EDUCATION, Agency.POLICE),
                 adapter_settings={EDUCATION: settings}) as cluster:
        yield cluster


def _lookup(home: Home, cluster: Cluster, referral: str) -> pb.ReferralSummary:
    token = issue_token(home, sub="sw-57", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, cluster.broker.address, token) as client:
        return client.lookup(red_request(referral, demo_subjects(home)))


def test_a_lookup_discloses_signed_facts_read_from_the_middleware(
        home: Home, api: tuple[SchoolApi, Path], rest_cluster: Cluster) -> None:
    summary = _lookup(home, rest_cluster, "REF-REST-0001")
    assert statuses(summary) == {"education": AgencyStatus.DISCLOSED,
                                 "police": AgencyStatus.DISCLOSED}
    education = next(a for a in summary.agencies if a.agency == "education")
    child = education.subjects[0]
    assert child.match_band in (MatchBand.CERTAIN, MatchBand.HIGH)
    assert child.facts
    assert any(f.summary.startswith("On roll at ") for f in child.facts)
    assert "/api/v1/pupils" in api[0].requests


def test_a_middleware_that_fails_is_reported_and_the_others_still_answer(
        home: Home, api: tuple[SchoolApi, Path], rest_cluster: Cluster) -> None:
    server = api[0]
    server.fault = "html"
    try:
        summary = _lookup(home, rest_cluster, "REF-REST-0002")
    finally:
        server.fault = None
    education = next(a for a in summary.agencies if a.agency == "education")
    assert education.status == AgencyStatus.UNAVAILABLE
    assert any(r.code.startswith("backend") for r in education.reasons)
    assert all(not s.facts for s in education.subjects)
    assert statuses(summary)["police"] == AgencyStatus.DISCLOSED
    assert statuses(_lookup(home, rest_cluster, "REF-REST-0003"))["education"] == \
        AgencyStatus.DISCLOSED
