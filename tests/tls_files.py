"""A throwaway CA and a server certificate for 127.0.0.1, for stand-in servers that speak HTTPS.

The tests' and benchmarks' servers stand in for agency systems (a FHIR server, school
middleware): they are not part of mash-hub's PKI, so they get a CA of their own that only the
backend under test trusts.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA a client trusts, the server's certificate and key."""

    ca: Path
    cert: Path
    key: Path


def make_tls_files(folder: Path, name: str = "agency-system") -> TlsFiles:
    """Write a new CA and a certificate for localhost / 127.0.0.1 under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test CA for {name}")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files


class TlsHttpServer(ThreadingHTTPServer):
    """A threading HTTPS server whose TLS handshakes run in the per-connection threads.

    Wrapping the listening socket instead would run every handshake inside `accept()`, on the
    serving thread: one client that connects and then stalls (a timeout test, a client that gave
    up) would hold up every other client and `shutdown()`, and so the test's teardown.
    """

    daemon_threads = True
    block_on_close = False
    #: A handshake that takes longer than this is abandoned (the client is gone or stalled).
    handshake_timeout_s = 10.0

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 tls: TlsFiles) -> None:
        super().__init__(address, handler)
        self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls_context.load_cert_chain(tls.cert, tls.key)

    def finish_request(self, request: socket.socket | tuple[bytes, socket.socket],
                       client_address: tuple[str, int] | str) -> None:
        """Complete the TLS handshake here, in this connection's thread, then serve it."""
        if not isinstance(request, socket.socket):
            raise TypeError("a stream server's request is a socket")
        request.settimeout(self.handshake_timeout_s)
        try:
            tls_socket = self.tls_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return  # the client went away or spoke no TLS: nothing to serve
        try:
            tls_socket.settimeout(None)
            super().finish_request(tls_socket, client_address)
        except (OSError, ssl.SSLError):
            pass  # the client hung up mid-request
        finally:
            tls_socket.close()
