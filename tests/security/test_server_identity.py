"""Threat: a holder of any certificate from the private CA poses as a server.

A stolen staff workstation certificate, another agency's adapter certificate or
another MASH's broker certificate is valid under our CA. Presented by a server the
broker dials as the police adapter, it would read the subjects' identifiers; presented
to a staff client as the broker, it would collect bearer tokens. Every client checks,
in the TLS handshake, that the server holds the name of the party it meant to reach, so
such a server gets nothing: a real hostile server records what reaches it, and it is
nothing at all. The same server holding the right certificate (a compromised host of
that very party) does receive the call: the control that shows the recording works.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from broker.client import BrokerClient
from certs import pki
from certs.authority import server_names_of
from certs.errors import PkiError
from certs.names import PeerKind, Principal
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, Role
from tests.integration.helpers import demo_subjects, red_request
from tests.integration.hostile import Connection, RecordingTlsServer

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]

#: Valid certificates of our CA that are not the police adapter's.
NOT_POLICE = ["client-staff", "adapter-health", "broker-mash-demo"]
#: Valid certificates of our CA that are not broker mash-demo's.
NOT_THE_BROKER = ["client-staff", "adapter-police", "broker-mash-other"]


@pytest.fixture(scope="module")
def other_broker(home: Home) -> str:
    """Another MASH's broker, certified by the same CA."""
    pki.issue(home, Principal(PeerKind.BROKER, "mash-other"))
    return "broker-mash-other"


@pytest.fixture(scope="module")
def impostor(home: Home) -> Iterator[RecordingTlsServer]:
    server = RecordingTlsServer(home, "client-staff").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def police_via_impostor(home: Home, impostor: RecordingTlsServer) -> Iterator[Cluster]:
    """A broker whose configured address for the police adapter leads to the impostor."""
    with Cluster(home, agencies=(Agency.POLICE,),
                 endpoint_overrides={Agency.POLICE: impostor.address}) as c:
        yield c


def _police(summary: pb.ReferralSummary) -> pb.AgencyResult:
    return next(a for a in summary.agencies if a.agency == "police")


def _lookups_until_dialled(home: Home, cluster: Cluster, impostor: RecordingTlsServer,
                           presented: str, referral: str) -> tuple[list[pb.ReferralSummary],
                                                                  list[Connection]]:
    """Look up until the broker has dialled the impostor presenting `presented` (bounded).

    After a refused handshake gRPC waits before dialling again; a lookup in that wait
    fails without a connection, so one lookup alone may not reach the impostor.
    """
    token = issue_token(home, sub="sw-501", role=Role.MASH_SOCIAL_WORKER)
    summaries = []
    deadline = time.monotonic() + 30
    with BrokerClient(home, cluster.broker.address, token, timeout_s=20) as client:
        while time.monotonic() < deadline:
            summaries.append(client.lookup(red_request(referral, demo_subjects(home))))
            seen = impostor.seen(presented)
            if seen and all(c.closed for c in seen):
                return summaries, seen
            time.sleep(0.3)
    return summaries, impostor.seen(presented)


@pytest.mark.parametrize("presented", NOT_POLICE)
def test_broker_fan_out_refuses_a_server_without_the_police_adapters_name(
    home: Home, impostor: RecordingTlsServer, police_via_impostor: Cluster, presented: str
) -> None:
    impostor.present(presented)
    referral = f"REF-SEC-POSE-{presented}"
    summaries, seen = _lookups_until_dialled(home, police_via_impostor, impostor, presented,
                                             referral)
    assert seen, "the broker never dialled the impostor"
    assert all(c.received == b"" for c in seen)  # not one byte: no headers, no query
    assert all(_police(s).status != AgencyStatus.DISCLOSED for s in summaries)


def test_control_the_police_adapters_own_certificate_does_get_the_query(
    home: Home, impostor: RecordingTlsServer, police_via_impostor: Cluster
) -> None:
    # A compromised police host: the recording shows a call that got through.
    impostor.present("adapter-police")
    _, seen = _lookups_until_dialled(home, police_via_impostor, impostor, "adapter-police",
                                     "REF-SEC-POSE-CONTROL")
    assert any(b"REF-SEC-POSE-CONTROL" in c.received for c in seen)


def _staff_call(home: Home, impostor: RecordingTlsServer, presented: str,
                referral: str) -> tuple[grpc.StatusCode | None, list[Connection]]:
    impostor.present(presented)
    token = issue_token(home, sub="sw-502", role=Role.MASH_SOCIAL_WORKER)
    code = None
    # a fresh client (and channel) per call: it dials at once, with no back-off to wait out
    with BrokerClient(home, impostor.address, token, timeout_s=3) as client:
        try:
            client.lookup(red_request(referral, demo_subjects(home)))
        except grpc.RpcError as exc:
            code = exc.code()
    deadline = time.monotonic() + 10
    while not all(c.closed for c in impostor.seen(presented)) and time.monotonic() < deadline:
        time.sleep(0.1)  # the recording ends when the client hangs up (or after 2 s idle)
    return code, impostor.seen(presented)


@pytest.mark.parametrize("presented", NOT_THE_BROKER)
def test_staff_client_refuses_a_server_without_the_brokers_name(
    home: Home, impostor: RecordingTlsServer, other_broker: str, presented: str
) -> None:
    code, seen = _staff_call(home, impostor, presented, f"REF-SEC-FAKEBROKER-{presented}")
    assert code == grpc.StatusCode.UNAVAILABLE
    assert seen, "the client never dialled the impostor"
    assert all(c.received == b"" for c in seen)  # not one byte: no token, no request


def test_control_the_brokers_own_certificate_does_get_the_call(
    home: Home, impostor: RecordingTlsServer
) -> None:
    _, seen = _staff_call(home, impostor, "broker-mash-demo", "REF-SEC-FAKEBROKER-CONTROL")
    assert any(b"REF-SEC-FAKEBROKER-CONTROL" in c.received for c in seen)


# --- what the CA will put in a certificate --------------------------------------------------
def _cert(home: Home, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(home.tls_cert(name).read_bytes())


def test_client_certificates_carry_no_server_name(home: Home) -> None:
    cert = _cert(home, "client-staff")
    assert not server_names_of(cert)
    usages = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert usages == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_no_certificate_carries_plain_localhost_or_a_loopback_address(home: Home) -> None:
    for path in home.pki_dir.glob("*.pem"):
        if path == home.ca_cert:
            continue
        names = server_names_of(x509.load_pem_x509_certificate(path.read_bytes()))
        assert "localhost" not in names.dns, path.name
        assert not any(ip.is_loopback for ip in names.ips), path.name


@pytest.mark.parametrize(("principal", "dns", "ips"), [
    (Principal(PeerKind.CLIENT, "laptop-9"), ["police.adapter.localhost"], []),
    (Principal(PeerKind.CLIENT, "laptop-9"), ["laptop9.example.org"], []),
    (Principal(PeerKind.ADAPTER, "health"), ["localhost"], []),
    (Principal(PeerKind.ADAPTER, "health"), ["police.adapter.localhost"], []),
    (Principal(PeerKind.ADAPTER, "health"), [], ["127.0.0.1"]),
    (Principal(PeerKind.ADAPTER, "health"), ["*.example.org"], []),
])
def test_the_ca_refuses_names_that_would_let_one_party_pose_as_another(
    tmp_path: object, principal: Principal, dns: list[str], ips: list[str]
) -> None:
    h = Home.at(str(tmp_path))
    pki.init_pki(h, agencies=["police", "health"])
    with pytest.raises((PkiError, ValueError)):
        pki.issue(h, principal, dns=dns, ips=ips)


def test_the_ca_refuses_a_real_name_another_party_already_holds(tmp_path: object) -> None:
    h = Home.at(str(tmp_path))
    pki.init_pki(h, agencies=["police", "health"])
    police = Principal(PeerKind.ADAPTER, "police")
    pki.issue(h, police, dns=["police-adapter.example.org"], ips=["10.1.2.3"])
    assert server_names_of(_cert(h, "adapter-police")).dns == ("police-adapter.example.org",)
    health = Principal(PeerKind.ADAPTER, "health")
    with pytest.raises(PkiError, match="already names adapter-police"):
        pki.issue(h, health, dns=["police-adapter.example.org"])
    with pytest.raises(PkiError, match="already names adapter-police"):
        pki.issue(h, health, ips=["10.1.2.3"])
    # a renewal keeps the real names it was given
    pki.rotate_tls(h, "adapter-police")
    assert server_names_of(_cert(h, "adapter-police")).dns == ("police-adapter.example.org",)
