"""Mutual-TLS credentials for gRPC, and the verified identity of the peer of a call.

Both ends trust only our private CA (never the system roots) and both present a
certificate, so every connection is authenticated both ways. The peer's identity
is the `mash://<kind>/<name>` URI in its certificate, read from the verified
certificate gRPC hands us; its serial is checked against the revocation list
on every call because gRPC Python offers no CRL hook of its own.

A client checks who the server is the way gRPC offers (it has no peer-verification
callback in Python): hostname verification against the TLS target name, during
the handshake, before any byte of a call is sent. `target_name` gives the name of
the party the client means to reach: its configured server name, else the host it
dials, else (on loopback) its per-party demo name. Only that party's certificate
carries that name (`certs.pki.server_names_for`), and client certificates carry none.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import grpc
from cryptography import x509

from certs.authority import certificate_thumbprint, principal_of
from certs.errors import CertificateRevoked, PeerNotAuthenticated
from certs.names import PeerKind, Principal
from certs.reloading import ReloadingTrustStore
from certs.truststore import TrustStore
from mash.grpc_server import ChannelOptions, channel_options
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
    #: RFC 8705 `x5t#S256` of its certificate: what a token bound to this device names
    thumbprint: str = ""

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


def address_host(address: str) -> str:
    """The host part of a gRPC target such as `police.example.org:50051` or `[::1]:50051`."""
    target = address
    for scheme in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if target.startswith(scheme):
            target = target[len(scheme):]
            break
    if target.startswith("["):
        return target[1:].partition("]")[0]
    host, sep, port = target.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else target


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def target_name(expected: Principal, address: str, server_name: str | None = None) -> str:
    """The name the server at `address` must prove it holds to be `expected`.

    `server_name` when configured (e.g. an adapter reached through a load balancer);
    else the host dialled, as any TLS client does; on loopback, where the host names
    every service on the machine, the party's own demo name (`police.adapter.localhost`).
    """
    if server_name:
        return server_name
    host = address_host(address)
    return expected.demo_server_name if _is_loopback(host) else host


def client_channel_options(expected: Principal, address: str, server_name: str | None = None,
                           max_message_bytes: int | None = None) -> ChannelOptions:
    """gRPC channel options for calling `expected` at `address`, its identity checked.

    The TLS target name is overridden only when it differs from the host dialled, and
    then only to the name of the party meant (never to a name every service shares).
    """
    options = channel_options() if max_message_bytes is None else channel_options(max_message_bytes)
    name = target_name(expected, address, server_name)
    if name != address_host(address):
        options.append(("grpc.ssl_target_name_override", name))
    return options


@functools.lru_cache(maxsize=1024)
def _identity_from_pem(pem: bytes) -> tuple[PeerKind, str, int, str] | None:
    # Parsing a certificate costs tens of microseconds; peers reuse few certs.
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    principal = principal_of(cert)
    if principal is None:
        return None
    return principal.kind, principal.name, cert.serial_number, certificate_thumbprint(cert)


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
    kind, name, serial, thumbprint = found
    if trust_store is not None and trust_store.is_revoked(serial):
        raise CertificateRevoked(f"certificate {serial:x} of {kind.value}-{name} is revoked")
    return PeerIdentity(kind, name, serial, thumbprint)
