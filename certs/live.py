"""A server's own TLS certificate, followed on disk: a renewal is served without a restart.

`mash pki rotate` (or an agency's `request` / `approve` / `install`) writes a new key and
certificate; a running broker or adapter must present the new one to new connections.
gRPC offers this as *dynamic* server credentials: before each new connection's handshake
it asks a fetcher whether the configuration changed. `ServerCertificate` is that fetcher.
It re-reads the key, certificate and CA files when they change (one `stat` each, at most
once per `check_interval_s`), or at once when asked (`check`, on SIGHUP), and adopts them
only if they make a certificate this service may present: the key matches it, our CA
issued it, it names this service's `mash://` identity and it is valid now. Anything else is
refused: the certificate in use stays, `fault` says what is wrong, and the log says it
once (`certificate_reload_refused`). Connections already open keep the certificate they
were made with, as TLS does.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from certs.authority import principal_of
from certs.names import Principal
from certs.reloading import ReloadingTrustStore
from mash.canonical import JsonValue
from mash.clock import Clock, utc_now
from mash.files import write_text
from mash.home import Home
from mash.logs import get_logger

log = get_logger("certs")

Signature = tuple[tuple[int, int, int], ...]
#: How often a serving process looks at its certificate and trust store for its health report
#: (new connections and signature checks look for themselves, at most once a second).
CREDENTIALS_INTERVAL_S = 2.0


class CertificateRefused(ValueError):
    """New certificate files that this service must not present (the reason says why)."""


@dataclass(frozen=True)
class LoadedCertificate:
    """A checked key, certificate and CA, as gRPC takes them."""

    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    serial: int
    not_after: datetime

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        """This certificate as a gRPC server certificate configuration."""
        return grpc.ssl_server_certificate_configuration(
            [(self.key_pem, self.cert_pem)], root_certificates=self.ca_pem)


def load_certificate(home: Home, name: str, *, at: datetime) -> LoadedCertificate:
    """Read and check `name`'s TLS key and certificate and the CA; `CertificateRefused` if unfit."""
    try:
        key_pem = home.tls_key(name).read_bytes()
        cert_pem = home.tls_cert(name).read_bytes()
        ca_pem = home.ca_cert.read_bytes()
    except OSError as exc:
        raise CertificateRefused(f"cannot read {exc.filename}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(key_pem, None)
    except (ValueError, TypeError):
        raise CertificateRefused(f"{home.tls_key(name).name} is not a PEM private key") from None
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError:
        raise CertificateRefused(f"{home.tls_cert(name).name} or {home.ca_cert.name} is not a "
                                 "PEM certificate") from None
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*raw) != key.public_key().public_bytes(*raw):
        raise CertificateRefused(f"{home.tls_key(name).name} is not the key of the certificate")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CertificateRefused("the certificate was not issued by the CA in "
                                 f"{home.ca_cert.name}") from None
    expected = Principal.from_cert_name(name)
    if principal_of(cert) != expected:
        raise CertificateRefused(f"the certificate does not name {expected.uri}")
    if not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
        raise CertificateRefused(
            f"the certificate is valid from {cert.not_valid_before_utc.isoformat()} to "
            f"{cert.not_valid_after_utc.isoformat()}, not now")
    return LoadedCertificate(key_pem, cert_pem, ca_pem, cert.serial_number,
                             cert.not_valid_after_utc)


class ServerCertificate:
    """The certificate a server presents, following its files (see the module's docstring)."""

    def __init__(self, home: Home, name: str, *, clock: Clock = utc_now,
                 check_interval_s: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """Load and check the files now (raising `CertificateRefused` if unfit)."""
        self.home = home
        self.name = name
        self._clock = clock
        self._interval = check_interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._signature = self._stat()
        self.current = load_certificate(home, name, at=clock())
        self._served = self.current
        self.fault = ""
        self._next_check = monotonic() + check_interval_s

    def _stat(self) -> Signature:
        out = []
        for path in (self.home.tls_key(self.name), self.home.tls_cert(self.name),
                     self.home.ca_cert):
            try:
                st = path.stat()
                out.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append((0, -1, 0))
        return tuple(out)

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials that ask this object before every new connection (mTLS required)."""
        return grpc.dynamic_ssl_server_credentials(
            self.current.configuration(), self._fetch, require_client_authentication=True)

    def check(self, *, force: bool = False) -> bool:
        """Re-read the files if they changed (or `force`); returns whether a new one was adopted."""
        with self._lock:
            now = self._monotonic()
            if not force and now < self._next_check:
                return False
            self._next_check = now + self._interval
            signature = self._stat()
            if signature == self._signature and not force:
                return False
            self._signature = signature
            try:
                fresh = load_certificate(self.home, self.name, at=self._clock())
            except CertificateRefused as exc:
                if self.fault != str(exc):
                    log.warning("certificate_reload_refused", service=self.name,
                                serial=f"{self.current.serial:x}", reason=str(exc))
                self.fault = str(exc)
                return False
            self.fault = ""
            if fresh.serial == self.current.serial and fresh.ca_pem == self.current.ca_pem:
                return False
            log.info("certificate_loaded", service=self.name, serial=f"{fresh.serial:x}",
                     previous=f"{self.current.serial:x}", not_after=fresh.not_after.isoformat())
            self.current = fresh
            return True

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        # gRPC calls this on its own thread before each new handshake: keep it to a stat.
        self.check()
        with self._lock:
            if self._served is self.current:
                return None
            self._served = self.current
            return self.current.configuration()


class LiveCredentials:
    """A server's certificate and trust store, both followed on disk, with one fault and status.

    `watch` looks every `interval_s` (and at once after `trigger`, which SIGHUP calls), tells
    `on_fault` whenever what is wrong changes (health), `on_renewed` when a new certificate of
    this service was adopted (a client that dials with it reconnects), and writes
    `<run dir>/<name>.credentials.json` for operators.
    """

    def __init__(self, certificate: ServerCertificate, trust: ReloadingTrustStore, *,
                 status_file: Path | None, clock: Clock = utc_now) -> None:
        self.certificate = certificate
        self.trust = trust
        self.status_file = status_file
        self._clock = clock
        self._wake = asyncio.Event()

    @property
    def fault(self) -> str:
        """What is wrong with the files on disk ("" when the ones in force are the files)."""
        faults = [f"certificate: {self.certificate.fault}" if self.certificate.fault else "",
                  f"trust store: {self.trust.fault}" if self.trust.fault else ""]
        return "; ".join(f for f in faults if f)

    def trigger(self) -> None:
        """Look at the files now (SIGHUP), not at the next interval."""
        self._wake.set()

    def check(self, *, force: bool = False) -> bool:
        """Look at both files; returns whether a new certificate was adopted."""
        renewed = self.certificate.check(force=force)
        if force:
            self.trust.reload_now()
        else:
            self.trust.current()
        return renewed

    def status(self) -> dict[str, JsonValue]:
        """What the status file says."""
        cert = self.certificate.current
        return {"service": self.certificate.name, "checked_at": self._clock().isoformat(),
                "certificate": {"serial": f"{cert.serial:x}",
                                "not_after": cert.not_after.isoformat(),
                                "fault": self.certificate.fault},
                "trust_store": {"path": str(self.trust.path), "fault": self.trust.fault},
                "fault": self.fault, "pid": os.getpid()}

    def publish(self) -> None:
        """Write the status file atomically."""
        if self.status_file is not None:
            self.status_file.parent.mkdir(parents=True, exist_ok=True)
            write_text(self.status_file, json.dumps(self.status(), indent=2) + "\n")

    async def watch(self, *, interval_s: float,
                    on_fault: Callable[[str], Awaitable[None]] | None = None,
                    on_renewed: Callable[[], Awaitable[None]] | None = None) -> None:
        """Until cancelled: look at the files, report what changed (see the class docstring)."""
        reported: str | None = None
        serial = self.certificate.current.serial
        await asyncio.to_thread(self.publish)
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), interval_s)
                forced = True
            except TimeoutError:
                forced = False
            self._wake.clear()
            await asyncio.to_thread(self.check, force=forced)
            fault = self.fault
            # A new connection's handshake may have adopted the renewal first: compare serials.
            renewed = self.certificate.current.serial != serial
            serial = self.certificate.current.serial
            # Renew first, then the status file, then health: each tells of what came before.
            if renewed and on_renewed is not None:
                await on_renewed()
            if renewed or forced or fault != reported:
                await asyncio.to_thread(self.publish)
            if fault != reported and on_fault is not None:
                await on_fault(fault)
            reported = fault
