"""Certificates for a service run by another organisation, without moving private keys.

An agency's IT team runs `mash pki request` on the adapter's own machine: it
creates the adapter's TLS key and signing keys there (0600) and writes a
request file holding only public material (a CSR and the signing public keys).
The MASH PKI operator runs `mash pki approve` on that file: the CSR's
self-signature and names are checked, a certificate is issued for the named
principal only, and the signing keys are pinned for that principal only. The
operator sends back the certificate, `ca.pem` and `trust.toml`; the agency
runs `mash pki install`, which checks they fit its key before copying them in.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certs.authority import new_tls_key, principal_of, private_key_pem
from certs.errors import PkiError
from certs.files import write_private, write_public
from certs.names import KeyPurpose, Principal
from certs.pki import (
    IssuedCertificate,
    checked,
    load_ca,
    load_trust_store,
    names_to_keep,
    pin_public_key,
    read_certificate,
    server_names_for,
    superseded,
)
from certs.signing import SigningKey
from certs.truststore import TrustStore, key_id_of
from mash import tomlwrite
from mash.clock import Clock, utc_now
from mash.config import ConfigError, Strict, load_toml
from mash.home import Home

FORMAT_VERSION = 1


@dataclass(frozen=True)
class RequestedKey:
    """A signing public key an agency asks the MASH to pin."""

    owner: str
    purpose: str
    public_key: bytes


@dataclass(frozen=True)
class CertificateRequest:
    """An unverified request: a CSR and signing keys claimed for one principal."""

    principal: Principal
    csr: x509.CertificateSigningRequest
    keys: tuple[RequestedKey, ...]

    def to_toml(self) -> str:
        """The request file text (public material only)."""
        csr_pem = self.csr.public_bytes(serialization.Encoding.PEM).decode()
        data: dict[str, object] = {
            "version": FORMAT_VERSION,
            "kind": self.principal.kind.value,
            "name": self.principal.name,
            "csr": csr_pem,
            "key": [{"owner": key.owner, "purpose": key.purpose,
                     "public_key": base64.b64encode(key.public_key).decode()} for key in self.keys],
        }
        return tomlwrite.dumps(data, header=(
            "mash-hub certificate request: send this file to the MASH PKI operator.",
            "It holds public material only; the private keys stay on this machine."))

    @classmethod
    def load(cls, path: Path) -> CertificateRequest:
        """Parse a request file; raises `PkiError` naming what is wrong."""
        try:
            raw = load_toml(Path(path), RequestFile)
        except ConfigError as exc:
            raise PkiError(f"unreadable certificate request: {exc}") from None
        try:
            principal = checked(Principal.from_cert_name(f"{raw.kind}-{raw.name}"))
            csr = x509.load_pem_x509_csr(raw.csr.encode())
            keys = tuple(RequestedKey(k.owner, k.purpose,
                                      base64.b64decode(k.public_key, validate=True))
                         for k in raw.key)
        except (ValueError, binascii.Error) as exc:
            if isinstance(exc, PkiError):
                raise
            raise PkiError(f"unreadable certificate request {path}: {exc!r}") from None
        return cls(principal, csr, keys)


class RequestedKeyEntry(Strict, frozen=True):
    """One `[[key]]` table of a request file."""

    owner: str
    #: checked against what the principal may hold when the request is signed
    purpose: str
    public_key: str


class RequestFile(Strict, frozen=True):
    """A certificate request file as written (`CertificateRequest.to_toml`)."""

    version: Literal[1]
    kind: str
    name: str
    csr: str
    key: tuple[RequestedKeyEntry, ...] = ()


def create_request(home: Home, principal: Principal, *, out: Path | None = None,
                   new_signing_keys: bool = False) -> Path:
    """Agency side: create TLS and signing keys locally and write the request file.

    Existing signing keys are kept (a certificate renewal) unless
    `new_signing_keys`, which replaces them (a signing-key rotation).
    """
    principal = checked(principal)
    home.ensure()
    tls_key = new_tls_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, principal.cert_name)]))
        .add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(principal.uri)]), critical=False)
        .sign(tls_key, hashes.SHA256())
    )
    # The key is written only now that the CSR exists, replacing any older request's key.
    write_private(home.tls_key(principal.cert_name), private_key_pem(tls_key))
    keys = []
    for owner, purpose in _owners(principal):
        path = home.signing_key(owner)
        if path.exists() and not new_signing_keys:
            key = SigningKey.load(path, owner=owner)
        else:
            key = SigningKey.generate(owner)
            write_private(path, key.to_pem())
        keys.append(RequestedKey(owner, purpose.value, key.public_bytes))
    request = CertificateRequest(principal, csr, tuple(keys))
    target = out or home.pki_dir / f"{principal.cert_name}.request.toml"
    write_public(target, request.to_toml().encode())
    return target


def approve_request(home: Home, request_path: Path, *, dns: Sequence[str] = (),
                    ips: Sequence[str] = (), clock: Clock = utc_now) -> IssuedCertificate:
    """CA side: check a request, issue its certificate and pin its signing keys.

    The CA decides the server names (`dns`, `ips`), never the requester; without them a
    renewal keeps the names of the certificate it replaces, and a new service gets its
    per-party demo name.

    The certificate is written to `home.tls_cert(<name>)` for the operator to
    send back. Raises `PkiError` if the CSR is not self-consistent or a key is
    claimed for any owner or purpose other than the principal's own.
    """
    request = CertificateRequest.load(request_path)
    principal = request.principal
    if not request.csr.is_signature_valid:
        raise PkiError("CSR signature does not verify")
    try:
        csr_uris = request.csr.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        csr_uris = []
    if csr_uris != [principal.uri]:
        raise PkiError(f"CSR names {csr_uris!r}, request says {principal.uri!r}")
    public_key = request.csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or \
            not isinstance(public_key.curve, ec.SECP256R1):
        raise PkiError("CSR key must be ECDSA P-256")
    allowed = {(owner, purpose.value) for owner, purpose in _owners(principal)}
    for key in request.keys:
        if (key.owner, key.purpose) not in allowed:
            raise PkiError(f"request for {principal.cert_name} may not pin a key for "
                           f"{key.owner}/{key.purpose}")
    if len({k.owner for k in request.keys}) != len(request.keys):
        raise PkiError("request names more than one key for the same owner")
    store = load_trust_store(home) if home.trust_store.exists() else TrustStore()
    for key in request.keys:
        kid = key_id_of(key.public_key)
        if kid in {k.key_id for k in store.keys} and store.pinned(kid).owner != key.owner:
            # Never let one party re-label a key already pinned for another.
            raise PkiError(f"key {kid} is already pinned for {store.pinned(kid).owner}")
    now = clock()
    ca = load_ca(home)
    if dns or ips:
        names = server_names_for(home, store, principal, dns, ips)
    else:
        old = read_certificate(home, principal.cert_name) \
            if home.tls_cert(principal.cert_name).exists() else None
        names = names_to_keep(home, store, principal, old)
    cert = ca.issue(principal, public_key, now=now, names=names)
    write_public(home.tls_cert(principal.cert_name),
                 cert.public_bytes(serialization.Encoding.PEM))
    for key in request.keys:
        if key_id_of(key.public_key) in {k.key_id for k in store.keys_for(key.owner)}:
            continue  # already pinned (a certificate renewal with the same signing key)
        # A new signing key replaces the old one: the old pin stays for the usual overlap.
        store = store.with_keys(superseded(store, key.owner, now)).with_key(
            pin_public_key(key.owner, key.purpose, key.public_key, now))
    store.save(home.trust_store)
    return IssuedCertificate(principal.cert_name, cert.serial_number, cert.not_valid_after_utc)


def install_certificate(home: Home, name: str, *, cert: Path, ca: Path,
                        trust_store: Path) -> x509.Certificate:
    """Agency side: install the approved certificate, the CA and the MASH trust store.

    Checks, before copying anything, that the certificate was issued by that CA,
    names `name`, and matches the TLS key created by `create_request`. The
    trust store is merged into the local one (incoming entries win).
    """
    principal = checked(Principal.from_cert_name(name))
    try:
        ca_cert = x509.load_pem_x509_certificate(ca.read_bytes())
        leaf = x509.load_pem_x509_certificate(cert.read_bytes())
        key = serialization.load_pem_private_key(home.tls_key(name).read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise PkiError(f"cannot install: {exc}") from None
    try:
        leaf.verify_directly_issued_by(ca_cert)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not issued by this CA"
        raise PkiError(f"certificate was not issued by {ca}: {exc}") from None
    if principal_of(leaf) != principal:
        raise PkiError(f"certificate does not name {principal.uri}")
    if leaf.public_key() != key.public_key():
        raise PkiError(f"certificate does not match the local key {home.tls_key(name)}")
    incoming = TrustStore.load(trust_store)  # refuse a malformed store before installing
    if home.trust_store.exists():
        # Merge: pins from other MASHes this adapter serves stay; incoming entries win.
        local = TrustStore.load(home.trust_store)
        for revoked in incoming.revoked:
            local = local.with_revoked(revoked)
        incoming = local.with_keys(incoming.keys)
    write_public(home.ca_cert, ca.read_bytes())
    write_public(home.tls_cert(name), cert.read_bytes())
    incoming.save(home.trust_store)
    return leaf


def _owners(principal: Principal) -> list[tuple[str, KeyPurpose]]:
    pairs = [(principal.signing_owner, principal.signing_purpose),
             (principal.audit_owner, KeyPurpose.AUDIT_CHECKPOINT)]
    return [(o, p) for o, p in pairs if o is not None and p is not None]
