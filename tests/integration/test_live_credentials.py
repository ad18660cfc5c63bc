"""Broker and adapter follow their certificates and trust store while they run, no restart.

- a renewed server certificate is presented to the next connection;
- a party removed from the trust store is refused from the next check (SIGHUP: at once);
- a bad new file (trust store or certificate) is refused: the one in force stays, and the
  fault is in gRPC health, in the status file and in the log, until a good file comes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from broker.client import BrokerClient
from certs import pki
from certs.names import Principal
from certs.truststore import TrustStore
from identity.tokens import issue_token
from mash.app.cluster import Cluster, Service, prepare_home
from mash.clock import utc_now
from mash.home import Home
from mash.vocab import Agency, AgencyStatus, Role
from tests.integration.helpers import audit_rows, demo_subjects, red_request, statuses

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

POLICE = Agency.POLICE
ADAPTER = "adapter-police"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Home, Cluster]]:
    home = Home.at(tmp_path_factory.mktemp("live-credentials"))
    prepare_home(home, people=120, seed=4)
    with Cluster(home, agencies=(POLICE,)) as cluster:
        yield home, cluster


def _presented_serial(home: Home, service: Service) -> int:
    """The serial of the certificate `service` presents to a new connection."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(home.ca_cert)
    context.check_hostname = False  # the serial is what is checked here
    context.load_cert_chain(home.tls_cert("broker-mash-demo"), home.tls_key("broker-mash-demo"))
    context.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as raw, \
            context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def _health(home: Home, service: Service, name: str) -> int:
    creds = grpc.ssl_channel_credentials(
        home.ca_cert.read_bytes(), home.tls_key("broker-mash-demo").read_bytes(),
        home.tls_cert("broker-mash-demo").read_bytes())
    from certs.tls import client_channel_options

    options = client_channel_options(Principal.from_cert_name(service.name), service.address)
    with grpc.secure_channel(service.address, creds, options=options) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=name), timeout=10)
    return int(reply.status)


def _until(what: str, ok: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def _status(home: Home, name: str) -> dict[str, object]:
    try:
        doc: dict[str, object] = json.loads(
            (home.run_dir / f"{name}.credentials.json").read_text())
    except (OSError, ValueError):
        return {}
    return doc


def _police(home: Home, cluster: Cluster, referral: str) -> str:
    token = issue_token(home, sub="sw-77", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, cluster.broker.address, token) as client:
        return statuses(client.lookup(red_request(referral, demo_subjects(home))))[POLICE]


def _sighup_and_wait(home: Home, service: Service) -> None:
    """SIGHUP `service` and wait until it has looked at its files (its status is rewritten)."""
    before = _status(home, service.name).get("checked_at")
    os.kill(service.process.pid, signal.SIGHUP)
    _until(f"{service.name} looked at its files",
           lambda: _status(home, service.name).get("checked_at") not in (None, before))


def test_a_renewed_certificate_is_served_to_new_connections(live: tuple[Home, Cluster]) -> None:
    home, cluster = live
    adapter, broker = cluster.adapter(POLICE), cluster.broker
    old_adapter, old_broker = (_presented_serial(home, adapter),
                               _presented_serial(home, broker))
    pki.rotate_tls(home, ADAPTER)
    pki.rotate_tls(home, "broker-mash-demo")
    new_adapter = pki.read_certificate(home, ADAPTER).serial_number
    new_broker = pki.read_certificate(home, "broker-mash-demo").serial_number
    assert new_adapter != old_adapter and new_broker != old_broker
    _until("the adapter presents its renewed certificate",
           lambda: _presented_serial(home, adapter) == new_adapter)
    _until("the broker presents its renewed certificate",
           lambda: _presented_serial(home, broker) == new_broker)
    _until("the status files name the renewed certificates", lambda: (
        _status(home, ADAPTER).get("certificate", {}).get("serial")  # type: ignore[union-attr]
        == f"{new_adapter:x}" and _status(home, broker.name).get("certificate", {})  # type: ignore[union-attr]
        .get("serial") == f"{new_broker:x}"))
    # The old broker certificate may now be revoked: the broker dials with the new one.
    pki.revoke_serial(home, "broker-mash-demo", old_broker, reason="superseded", now=utc_now())
    _sighup_and_wait(home, adapter)
    assert _police(home, cluster, "REF-CRED-RENEWED") == AgencyStatus.DISCLOSED


def test_a_party_removed_from_the_trust_store_is_refused_at_once(
        live: tuple[Home, Cluster], tmp_path: Path) -> None:
    home, cluster = live
    assert _police(home, cluster, "REF-CRED-BEFORE") == AgencyStatus.DISCLOSED
    saved = tmp_path / "trust.toml"
    shutil.copy(home.trust_store, saved)
    store = TrustStore.load(home.trust_store)
    TrustStore(tuple(k for k in store.keys if k.owner != "broker-mash-demo"),
               store.revoked).save(home.trust_store)
    try:
        _sighup_and_wait(home, cluster.adapter(POLICE))
        assert _police(home, cluster, "REF-CRED-REMOVED") != AgencyStatus.DISCLOSED
        refused = audit_rows(home.audit_log(ADAPTER), "unknown_key")
        assert refused, "the adapter logs the refusal"
    finally:
        shutil.copy(saved, home.trust_store)
    _sighup_and_wait(home, cluster.adapter(POLICE))
    assert _police(home, cluster, "REF-CRED-BACK") == AgencyStatus.DISCLOSED


def test_a_bad_trust_store_keeps_the_one_in_force_and_is_reported(
        live: tuple[Home, Cluster], tmp_path: Path) -> None:
    home, cluster = live
    adapter, broker = cluster.adapter(POLICE), cluster.broker
    saved = tmp_path / "trust.toml"
    shutil.copy(home.trust_store, saved)
    home.trust_store.write_text("this is [not toml\n")
    try:
        _until("the adapter reports the refused trust store",
               lambda: _health(home, adapter, "mash.v1.AgencyAdapter/credentials") == NOT_SERVING)
        _until("the broker reports the refused trust store",
               lambda: _health(home, broker, "mash.v1.Broker/credentials") == NOT_SERVING)
        # still serving, on the pins in force
        assert _health(home, adapter, "mash.v1.AgencyAdapter") == SERVING
        assert _police(home, cluster, "REF-CRED-BADTRUST") == AgencyStatus.DISCLOSED
        for name in (ADAPTER, broker.name):
            assert "trust store" in str(_status(home, name).get("fault"))
        health_file = json.loads((home.run_dir / f"{ADAPTER}.health.json").read_text())
        assert "not valid TOML" in health_file["components"]["credentials"]["fault"]
        for log in (adapter.log, broker.log):
            assert "trust_store_reload_refused" in log.read_text()
    finally:
        shutil.copy(saved, home.trust_store)
    _until("the adapter's fault clears",
           lambda: _health(home, adapter, "mash.v1.AgencyAdapter/credentials") == SERVING)
    _until("the broker's fault clears",
           lambda: _health(home, broker, "mash.v1.Broker/credentials") == SERVING)


def test_a_bad_certificate_file_keeps_the_certificate_in_force(
        live: tuple[Home, Cluster], tmp_path: Path) -> None:
    home, cluster = live
    adapter = cluster.adapter(POLICE)
    serving = _presented_serial(home, adapter)
    saved = tmp_path / "adapter.pem"
    shutil.copy(home.tls_cert(ADAPTER), saved)
    # Another party's certificate in place of ours: not our key, not our name.
    shutil.copy(home.tls_cert("client-staff"), home.tls_cert(ADAPTER))
    try:
        _until("the adapter reports the refused certificate",
               lambda: _health(home, adapter, "mash.v1.AgencyAdapter/credentials") == NOT_SERVING)
        assert "certificate: " in str(_status(home, ADAPTER).get("fault"))
        assert _presented_serial(home, adapter) == serving
        assert _police(home, cluster, "REF-CRED-BADCERT") == AgencyStatus.DISCLOSED
        assert "certificate_reload_refused" in adapter.log.read_text()
    finally:
        shutil.copy(saved, home.tls_cert(ADAPTER))
    _until("the adapter's fault clears",
           lambda: _health(home, adapter, "mash.v1.AgencyAdapter/credentials") == SERVING)
