"""One test per threat against message signing, key files and mutual TLS.

Each test names the attack it stops. mTLS tests run a real gRPC server (the
standard health service) on loopback with `server_credentials`.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from certs import pki, tls
from certs.errors import (
    CertificateRevoked,
    InvalidSignature,
    KeyNotValid,
    PeerError,
    PeerNotAuthenticated,
    UnknownKey,
    WrongSigner,
)
from certs.names import PeerKind, Principal
from certs.signing import DISCLOSURE_DOMAIN, QUERY_DOMAIN, SigningKey, TrustStore
from mash.home import Home

pytestmark = pytest.mark.clock_sensitive

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    h = Home.at(tmp_path_factory.mktemp("ours"))
    pki.init_pki(h, agencies=["police", "health"], clients=["staff"], clock=lambda: T0)
    return h


@pytest.fixture(scope="module")
def other_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A second, unrelated PKI: same names, different CA."""
    h = Home.at(tmp_path_factory.mktemp("theirs"))
    pki.init_pki(h, agencies=["police"], clients=["staff"], clock=lambda: T0)
    return h


@pytest.fixture(scope="module")
def store(home: Home) -> TrustStore:
    return TrustStore.load(home.trust_store, clock=lambda: T0 + timedelta(hours=1))


def police(home: Home) -> SigningKey:
    return SigningKey.load(home.signing_key("adapter-police"))


DISCLOSE = {"expected_owner": "adapter-police", "purpose": "disclosure-signing"}


# --- message signatures ------------------------------------------------------------------
def test_tampered_payload_is_rejected(home: Home, store: TrustStore) -> None:
    key = police(home)
    sig = key.sign(DISCLOSURE_DOMAIN, b'{"facts": 1}')
    with pytest.raises(InvalidSignature):
        store.verify(DISCLOSURE_DOMAIN, b'{"facts": 2}', sig, key.key_id, **DISCLOSE)


def test_tampered_signature_is_rejected(home: Home, store: TrustStore) -> None:
    key = police(home)
    sig = bytearray(key.sign(DISCLOSURE_DOMAIN, b"p"))
    sig[0] ^= 1
    with pytest.raises(InvalidSignature):
        store.verify(DISCLOSURE_DOMAIN, b"p", bytes(sig), key.key_id, **DISCLOSE)


def test_disclosure_signed_by_another_agency_is_wrong_signer(home: Home,
                                                             store: TrustStore) -> None:
    health = SigningKey.load(home.signing_key("adapter-health"))
    sig = health.sign(DISCLOSURE_DOMAIN, b"p")
    with pytest.raises(WrongSigner):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, health.key_id, **DISCLOSE)


def test_claiming_another_agencys_key_id_fails_the_signature(home: Home,
                                                             store: TrustStore) -> None:
    health = SigningKey.load(home.signing_key("adapter-health"))
    sig = health.sign(DISCLOSURE_DOMAIN, b"p")
    with pytest.raises(InvalidSignature):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, police(home).key_id, **DISCLOSE)


def test_audit_key_cannot_sign_disclosures(home: Home, store: TrustStore) -> None:
    audit = SigningKey.load(home.signing_key("audit-adapter-police"))
    sig = audit.sign(DISCLOSURE_DOMAIN, b"p")
    with pytest.raises(WrongSigner):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, audit.key_id,
                     expected_owner="audit-adapter-police", purpose="disclosure-signing")


def test_broker_key_cannot_pass_as_adapter(home: Home, store: TrustStore) -> None:
    broker = SigningKey.load(home.signing_key("broker-mash-demo"))
    sig = broker.sign(QUERY_DOMAIN, b"p")
    with pytest.raises(WrongSigner):
        store.verify(QUERY_DOMAIN, b"p", sig, broker.key_id, **DISCLOSE)


def test_unpinned_key_is_unknown(store: TrustStore) -> None:
    rogue = SigningKey.generate("adapter-police")
    sig = rogue.sign(DISCLOSURE_DOMAIN, b"p")
    with pytest.raises(UnknownKey):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, rogue.key_id, **DISCLOSE)


def test_expired_key_is_not_valid(home: Home, store: TrustStore) -> None:
    key = police(home)
    sig = key.sign(DISCLOSURE_DOMAIN, b"p")
    with pytest.raises(KeyNotValid):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, key.key_id,
                     at=T0 + timedelta(days=3 * 365), **DISCLOSE)
    with pytest.raises(KeyNotValid):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, key.key_id,
                     at=T0 - timedelta(days=1), **DISCLOSE)


def test_query_signature_is_not_a_disclosure_signature(home: Home, store: TrustStore) -> None:
    key = police(home)
    sig = key.sign(QUERY_DOMAIN, b"p")
    with pytest.raises(InvalidSignature):
        store.verify(DISCLOSURE_DOMAIN, b"p", sig, key.key_id, **DISCLOSE)


def test_private_keys_are_never_readable_by_others(home: Home) -> None:
    for key in home.pki_dir.rglob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0, key
    assert stat.S_IMODE((home.pki_dir / "signing").stat().st_mode) & 0o077 == 0


# --- mutual TLS --------------------------------------------------------------------------
class _Health(health_pb2_grpc.HealthServicer):
    """Health service that records who called, checking revocation like a real server."""

    def __init__(self, trust: TrustStore) -> None:
        self.trust = trust
        self.seen: list[tls.PeerIdentity] = []

    def Check(self, request, context):  # noqa: ANN001, ANN201, N802 - gRPC signature
        try:
            self.seen.append(tls.peer_identity(context, self.trust))
        except PeerError as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, type(exc).__name__)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture()
def server(home: Home) -> Iterator[tuple[int, _Health]]:
    servicer = _Health(TrustStore.load(home.trust_store))
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, srv)
    port = srv.add_secure_port("127.0.0.1:0", tls.server_credentials(home, "broker-mash-demo"))
    srv.start()
    yield port, servicer
    srv.stop(None)


_BROKER = Principal(PeerKind.BROKER, "mash-demo")


def _check(port: int, creds: grpc.ChannelCredentials, expected: Principal = _BROKER,
           ) -> health_pb2.HealthCheckResponse:
    # the client checks the server is `expected` (its per-party name on loopback)
    address = f"127.0.0.1:{port}"
    with grpc.secure_channel(address, creds, options=tls.client_channel_options(
            expected, address)) as channel:
        return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                         timeout=5)


def test_client_from_our_ca_is_identified(home: Home, server: tuple[int, _Health]) -> None:
    port, servicer = server
    assert _check(port, tls.channel_credentials(home, "client-staff")).status == 1
    assert _check(port, tls.channel_credentials(home, "adapter-police")).status == 1
    assert [(p.kind, p.name) for p in servicer.seen] == [
        (PeerKind.CLIENT, "staff"), (PeerKind.ADAPTER, "police")]
    assert servicer.seen[1].cert_name == "adapter-police"


def test_client_certificate_from_another_ca_is_refused(
        home: Home, other_home: Home, server: tuple[int, _Health]) -> None:
    port, servicer = server
    # Trusts our CA (so it would accept our server) but presents the other CA's cert.
    creds = grpc.ssl_channel_credentials(
        root_certificates=home.ca_cert.read_bytes(),
        private_key=other_home.tls_key("client-staff").read_bytes(),
        certificate_chain=other_home.tls_cert("client-staff").read_bytes())
    with pytest.raises(grpc.RpcError) as err:
        _check(port, creds)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert servicer.seen == []


def test_client_without_certificate_is_refused(home: Home, server: tuple[int, _Health]) -> None:
    port, servicer = server
    creds = grpc.ssl_channel_credentials(root_certificates=home.ca_cert.read_bytes())
    with pytest.raises(grpc.RpcError) as err:
        _check(port, creds)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert servicer.seen == []


def test_server_from_another_ca_is_refused_by_our_client(
        home: Home, other_home: Home) -> None:
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    health_pb2_grpc.add_HealthServicer_to_server(_Health(TrustStore()), srv)
    port = srv.add_secure_port("127.0.0.1:0",
                               tls.server_credentials(other_home, "adapter-police"))
    srv.start()
    try:
        with pytest.raises(grpc.RpcError) as err:
            _check(port, tls.channel_credentials(home, "broker-mash-demo"),
                   Principal(PeerKind.ADAPTER, "police"))
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop(None)


def test_revoked_client_certificate_is_refused(tmp_path: Path) -> None:
    h = Home.at(tmp_path)
    pki.init_pki(h, agencies=["police"], clients=["staff", "leaver"])
    pki.revoke(h, "client-leaver", reason="left the organisation")
    servicer = _Health(TrustStore.load(h.trust_store))
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    health_pb2_grpc.add_HealthServicer_to_server(servicer, srv)
    port = srv.add_secure_port("127.0.0.1:0", tls.server_credentials(h, "broker-mash-demo"))
    srv.start()
    try:
        with pytest.raises(grpc.RpcError) as err:
            _check(port, tls.channel_credentials(h, "client-leaver"))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.value.details() == "CertificateRevoked"
        assert _check(port, tls.channel_credentials(h, "client-staff")).status == 1
    finally:
        srv.stop(None)


class _FakeContext:
    def __init__(self, auth: dict[str, list[bytes]]) -> None:
        self._auth = auth

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._auth


def test_call_without_peer_certificate_is_not_authenticated() -> None:
    with pytest.raises(PeerNotAuthenticated):
        tls.peer_identity(_FakeContext({}))
    with pytest.raises(PeerNotAuthenticated):
        tls.peer_identity(_FakeContext({"x509_pem_cert": [b"garbage"]}))


def test_certificate_without_mash_uri_is_not_authenticated(home: Home) -> None:
    with pytest.raises(PeerNotAuthenticated):
        tls.peer_identity(_FakeContext({"x509_pem_cert": [home.ca_cert.read_bytes()]}))


def test_revocation_checked_from_peer_certificate(home: Home) -> None:
    pem = home.tls_cert("adapter-health").read_bytes()
    ident = tls.peer_identity(_FakeContext({"x509_pem_cert": [pem]}))
    from certs.signing import RevokedCert
    revoked = TrustStore().with_revoked(RevokedCert(ident.serial, "adapter-health", T0))
    with pytest.raises(CertificateRevoked):
        tls.peer_identity(_FakeContext({"x509_pem_cert": [pem]}), revoked)


def test_peer_identity_works_with_grpc_aio(home: Home) -> None:
    import asyncio

    seen: list[tls.PeerIdentity] = []

    class AioHealth(health_pb2_grpc.HealthServicer):
        async def Check(self, request, context):  # noqa: ANN001, ANN201, N802
            seen.append(tls.peer_identity(context, TrustStore()))
            return health_pb2.HealthCheckResponse(status=1)

    async def scenario() -> None:
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(AioHealth(), server)
        port = server.add_secure_port("127.0.0.1:0",
                                      tls.server_credentials(home, "adapter-police"))
        await server.start()
        try:
            creds = tls.channel_credentials(home, "broker-mash-demo")
            address = f"127.0.0.1:{port}"
            options = tls.client_channel_options(Principal(PeerKind.ADAPTER, "police"), address)
            async with grpc.aio.secure_channel(address, creds, options=options) as channel:
                await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=5)
        finally:
            await server.stop(None)

    asyncio.run(scenario())
    assert [(p.kind, p.name) for p in seen] == [(PeerKind.BROKER, "mash-demo")]
