"""The private certificate authority: create it, load it, issue TLS certificates.

All keys are ECDSA P-256 (gRPC's BoringSSL handles them everywhere). Every leaf
certificate carries the principal's `mash://<kind>/<name>` URI. A service's
certificate (broker, adapter) also carries its own server names, DNS names and
IP addresses chosen by `certs.pki` and nobody else's, and is valid for server and
client authentication (a broker is a server to staff clients and a client to
adapters). A client's certificate carries no server name and is valid for client
authentication only, so it can never pass a client's hostname check.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.errors import PkiError
from certs.names import Principal

CA_VALIDITY = timedelta(days=5 * 365)
LEAF_VALIDITY = timedelta(days=397)
#: Back-date notBefore a little so a peer whose clock is slightly behind accepts the cert.
CLOCK_SKEW = timedelta(minutes=5)
ORGANISATION = "mash-hub"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class ServerNames:
    """The names a service's certificate answers to: DNS names and IP addresses."""

    dns: tuple[str, ...] = ()
    ips: tuple[IPAddress, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.dns or self.ips)

    def general_names(self) -> list[x509.GeneralName]:
        """As subject-alternative-name entries."""
        return [*(x509.DNSName(d) for d in self.dns), *(x509.IPAddress(i) for i in self.ips)]

    def describe(self) -> str:
        """e.g. `police.example.org, 10.0.0.5`."""
        return ", ".join([*self.dns, *(str(i) for i in self.ips)]) or "(none)"


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA certificate and its private key."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(
        cls, *, now: datetime, common_name: str = "mash-hub private CA"
    ) -> CertificateAuthority:
        """A new self-signed CA (path length 0: it signs leaf certificates only)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ])
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        """Load the CA from its PEM certificate and key."""
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError("CA key is not an EC private key")
        if cert.public_key() != key.public_key():
            raise PkiError("CA key does not match the CA certificate")
        return cls(cert, key)

    def issue(
        self, principal: Principal, public_key: ec.EllipticCurvePublicKey, *, now: datetime,
        names: ServerNames = ServerNames(), validity: timedelta = LEAF_VALIDITY,
    ) -> x509.Certificate:
        """Issue a TLS certificate for `principal` binding `public_key`, answering to `names`.

        A service must be given at least one server name and a client none (`PkiError`):
        which names a party may hold is decided by `certs.pki.server_names_for`.
        """
        if principal.serves and not names:
            raise PkiError(f"{principal.cert_name}: a service certificate needs a server name")
        if not principal.serves and names:
            raise PkiError(f"{principal.cert_name}: client certificates carry no server names")
        not_after = min(now + validity, self.certificate.not_valid_after_utc)
        san = x509.SubjectAlternativeName([
            *names.general_names(), x509.UniformResourceIdentifier(principal.uri)])
        usages = ([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                  if principal.serves else [ExtendedKeyUsageOID.CLIENT_AUTH])
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, principal.kind.value),
                x509.NameAttribute(NameOID.COMMON_NAME, principal.cert_name),
            ]))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=False,
                    crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(san, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
            .sign(self.private_key, hashes.SHA256())
        )

    def cert_pem(self) -> bytes:
        """The CA certificate (PEM)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        """The CA private key (PKCS#8 PEM; write it 0600)."""
        return private_key_pem(self.private_key)


def new_tls_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key for a TLS certificate."""
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """A certificate as PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def certificate_thumbprint(cert: x509.Certificate) -> str:
    """RFC 8705 `x5t#S256`: base64url (unpadded) SHA-256 of the certificate's DER encoding."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def thumbprint_of_file(path: Path) -> str:
    """`x5t#S256` of the PEM certificate at `path` (the device a token is issued for)."""
    return certificate_thumbprint(x509.load_pem_x509_certificate(path.read_bytes()))


def server_names_of(cert: x509.Certificate) -> ServerNames:
    """The DNS names and IP addresses a certificate answers to (its SAN entries)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ServerNames()
    return ServerNames(tuple(san.get_values_for_type(x509.DNSName)),
                       tuple(san.get_values_for_type(x509.IPAddress)))  # type: ignore[arg-type]


def principal_of(cert: x509.Certificate) -> Principal | None:
    """The principal named by the certificate's single `mash://` SAN URI, or None."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)
            if u.startswith("mash://")]
    if len(uris) != 1:
        return None  # none, or ambiguous: fail closed
    try:
        return Principal.from_uri(uris[0])
    except ValueError:
        return None
