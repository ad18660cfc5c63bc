"""Mutual-TLS credentials for gRPC, and the verified identity of the peer of a call.

Both ends trust only our private CA (never the system roots) and both present a
certificate, so every connection is authenticated both ways. The peer's identity
is the `mash://<kind>/<name>` URI in its certificate, read from the verified
certificate gRPC hands us; its serial is checked against the revocation list
on every call because gRPC Python offers no CRL hook of its own.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import grpc
from cryptography import x509

from certs.authority import principal_of
from certs.errors import CertificateRevoked, PeerNotAuthenticated
from certs.names import PeerKind
from certs.reloading import ReloadingTrustStore
from certs.truststore import TrustStore
from mash.home import Home

#: auth_context key under which gRPC exposes the verified peer certificate (PEM).
PEER_CERT_KEY = "x509_pem_cert"


class _HasAuthContext(Protocol):
    def auth_context(self) -> dict[str, list[bytes]]: ...


@dataclass(frozen=True)
class PeerIdentity:
    """Who is at the other end of a call, as proved by its certificate."""

    kind: PeerKind
    name: str
    serial: int

    @property
    def cert_name(self) -> str:
        """e.g. `adapter-police`: also the owner name of its signing key."""
        return f"{self.kind.value}-{self.name}"


def _read(path: Path) -> bytes:
    return path.read_bytes()


def server_credentials(home: Home, name: str) -> grpc.ServerCredentials:
    """Server credentials for `name` (e.g. `broker-mash-demo`): client certificates required."""
    return grpc.ssl_server_credentials(
        [(_read(home.tls_key(name)), _read(home.tls_cert(name)))],
        root_certificates=_read(home.ca_cert),
        require_client_auth=True,
    )


def channel_credentials(home: Home, name: str) -> grpc.ChannelCredentials:
    """Channel credentials for `name`: present its certificate, trust only our CA."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(home.ca_cert),
        private_key=_read(home.tls_key(name)),
        certificate_chain=_read(home.tls_cert(name)),
    )


@functools.lru_cache(maxsize=1024)
def _identity_from_pem(pem: bytes) -> tuple[PeerKind, str, int] | None:
    # Parsing a certificate costs tens of microseconds; peers reuse few certs.
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    principal = principal_of(cert)
    if principal is None:
        return None
    return principal.kind, principal.name, cert.serial_number


def peer_identity(
    context: _HasAuthContext | grpc.ServicerContext | grpc.aio.ServicerContext,
    trust_store: TrustStore | ReloadingTrustStore | None = None,
) -> PeerIdentity:
    """The verified identity of the caller; revoked serials refused when `trust_store` is given.

    Raises `PeerNotAuthenticated` when the call has no verified client
    certificate with exactly one `mash://` URI, and `CertificateRevoked`.
    Servers should pass a `ReloadingTrustStore` so revocations made with
    `mash pki revoke` take effect without a restart.
    """
    auth = context.auth_context() or {}
    pems = auth.get(PEER_CERT_KEY) or []
    if len(pems) != 1:
        raise PeerNotAuthenticated("no verified peer certificate")
    found = _identity_from_pem(bytes(pems[0]))
    if found is None:
        raise PeerNotAuthenticated("peer certificate has no single mash:// identity")
    kind, name, serial = found
    if trust_store is not None and trust_store.is_revoked(serial):
        raise CertificateRevoked(f"certificate {serial:x} of {kind.value}-{name} is revoked")
    return PeerIdentity(kind, name, serial)
