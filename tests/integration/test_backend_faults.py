"""A slow or failing system of record: a clear per-agency status, a live event loop, health.

The police adapter reads through a legacy system that stalls on cue, the housing adapter
through one that fails every read; both are plug-ins run in the adapter's thread pool.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker.client import BrokerClient
from certs.names import Principal
from certs.tls import channel_credentials, client_channel_options
from identity.tokens import issue_token
from mash.app.cluster import Cluster, Service
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, Role
from tests.integration.helpers import demo_subjects, red_request, statuses
from tests.integration.legacy_systems import BrokenLegacySystem

pytestmark = pytest.mark.integration

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
TIMEOUT_MS = 500


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("legacy-control")


@pytest.fixture(scope="module")
def faulty(home: Home, control: Path) -> Iterator[Cluster]:
    legacy = {"backend_timeout_ms": TIMEOUT_MS, "health_interval_s": 0.2}
    cluster = Cluster(home, agencies=(Agency.POLICE, Agency.HEALTH, Agency.HOUSING),
                      adapter_settings={
                          Agency.POLICE: {**legacy,
                                          "backend": "tests.integration.legacy_systems:stalling",
                                          "backend_options": {
                                              "control_dir": str(control),
                                              "store": str(home.agency_store(Agency.POLICE))}},
                          Agency.HOUSING: {**legacy,
                                           "backend": "tests.integration.legacy_systems:broken"},
                      })
    with cluster:
        yield cluster


def _lookup(home: Home, cluster: Cluster, referral: str) -> pb.ReferralSummary:
    token = issue_token(home, sub="sw-31", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, cluster.broker.address, token) as client:
        return client.lookup(red_request(referral, demo_subjects(home)))


def _health(home: Home, adapter: Service, service: str, timeout_s: float = 2.0) -> int:
    creds = channel_credentials(home, "broker-mash-demo")
    options = client_channel_options(Principal.from_cert_name(adapter.name), adapter.address)
    with grpc.secure_channel(adapter.address, creds, options=options) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
    return int(reply.status)


def _eventually(check: Callable[[], bool], what: str, limit_s: float = 15.0) -> None:
    give_up = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > give_up:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def _reason_codes(summary: pb.ReferralSummary, agency: str) -> list[str]:
    return [r.code for a in summary.agencies if a.agency == agency for r in a.reasons]


def test_a_plug_in_legacy_system_answers_through_the_thread_pool(
        home: Home, faulty: Cluster) -> None:
    summary = _lookup(home, faulty, "REF-BF-0001")
    assert statuses(summary)["police"] == AgencyStatus.DISCLOSED
    assert _health(home, faulty.adapter(Agency.POLICE), "mash.v1.AgencyAdapter/backend") == SERVING


def test_a_stalled_backend_times_out_without_stalling_the_adapter(
        home: Home, faulty: Cluster, control: Path) -> None:
    police = faulty.adapter(Agency.POLICE)
    (control / "stall").touch()
    result: dict[str, pb.ReferralSummary] = {}
    lookup = threading.Thread(target=lambda: result.update(
        summary=_lookup(home, faulty, "REF-BF-0002")))
    try:
        lookup.start()
        _eventually((control / "entered").exists, "the backend read began")
        # The read is stuck in a pool thread; the event loop still answers health checks.
        assert _health(home, police, "", timeout_s=1.0) == SERVING
        lookup.join(30)
    finally:
        (control / "stall").unlink()
    summary = result["summary"]
    assert statuses(summary)["police"] == AgencyStatus.UNAVAILABLE
    assert "backend_timeout" in _reason_codes(summary, "police")
    police_part = next(a for a in summary.agencies if a.agency == "police")
    assert all(not s.facts for s in police_part.subjects), "nothing half-read is disclosed"
    # the other agencies answered as usual
    assert statuses(summary)["health"] == AgencyStatus.DISCLOSED
    # health names the fault; the adapter still serves
    status = json.loads((home.run_dir / "adapter-police.health.json").read_text())
    assert "backend_timeout" in status["components"]["backend"]["fault"]
    assert f"{TIMEOUT_MS} ms" in status["components"]["backend"]["fault"]
    assert _health(home, police, "mash.v1.AgencyAdapter/backend") == NOT_SERVING
    assert _health(home, police, "mash.v1.AgencyAdapter") == SERVING
    # once the system answers again, a query succeeds and the fault clears
    again = _lookup(home, faulty, "REF-BF-0003")
    assert statuses(again)["police"] == AgencyStatus.DISCLOSED
    assert _health(home, police, "mash.v1.AgencyAdapter/backend") == SERVING


def test_a_failing_backend_is_a_status_with_a_reason_and_no_internal_text(
        home: Home, faulty: Cluster) -> None:
    summary = _lookup(home, faulty, "REF-BF-0004")
    assert statuses(summary)["housing"] == AgencyStatus.UNAVAILABLE
    housing = next(a for a in summary.agencies if a.agency == "housing")
    assert "backend_error" in [r.code for r in housing.reasons]
    assert all(r.text for r in housing.reasons)
    wire = summary.SerializeToString()
    for secret in (b"ORA-03113", b"Smith", b"Traceback", b"RuntimeError"):
        assert secret not in wire
    log = (home.log_dir / "adapter-housing.log").read_text()
    assert "backend_failed" in log
    assert BrokenLegacySystem.SECRET_TEXT not in log  # the log names the error type, not its text


def test_a_backend_that_refuses_its_probe_is_not_serving_until_it_recovers(
        home: Home, faulty: Cluster, control: Path) -> None:
    police = faulty.adapter(Agency.POLICE)
    (control / "down").touch()
    try:
        _eventually(lambda: _health(home, police, "mash.v1.AgencyAdapter") == NOT_SERVING,
                    "police adapter reports NOT_SERVING")
        status = json.loads((home.run_dir / "adapter-police.health.json").read_text())
        assert status["serving"] is False
        assert "legacy system refused the connection" in status["components"]["backend"]["fault"]
        assert _health(home, police, "") == SERVING  # the process itself is up
    finally:
        (control / "down").unlink()
    _eventually(lambda: _health(home, police, "mash.v1.AgencyAdapter") == SERVING,
                "police adapter serves again")
