"""Creating and maintaining a home's PKI: CA, TLS certificates, signing keys, trust store.

`init_pki` is idempotent: files that exist and are still good are kept, so it
can run on every `mash demo`. A TLS certificate is re-issued when it is missing,
not issued by the current CA, revoked, or expired; a signing key is created
when missing and (re)pinned in the trust store when its pin is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature

from certs.authority import (
    CLOCK_SKEW,
    CertificateAuthority,
    ServerNames,
    cert_pem,
    new_tls_key,
    principal_of,
    private_key_pem,
    server_names_of,
)
from certs.errors import PkiError
from certs.files import write_private, write_public
from certs.names import (
    KeyPurpose,
    PeerKind,
    Principal,
    check_dns_name,
    check_ip_address,
    check_name,
    is_demo_name,
    owner_purpose,
)
from certs.signing import SigningKey
from certs.truststore import PinnedKey, RevokedCert, TrustStore, key_id_of
from mash.clock import Clock, utc_now
from mash.home import Home
from mash.vocab import Agency, parse

SIGNING_KEY_VALIDITY = timedelta(days=2 * 365)
DEFAULT_ROTATION_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class PkiSummary:
    """What `init_pki` did: which files it created and which it kept."""

    home: Home
    created: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    principals: tuple[Principal, ...] = field(default=())

    @property
    def trust_store(self) -> str:
        """Path of the trust store written."""
        return str(self.home.trust_store)


@dataclass(frozen=True)
class IssuedCertificate:
    """A TLS certificate written to the home."""

    name: str
    serial: int
    not_after: datetime


def principals_for(
    brokers: Iterable[str], agencies: Iterable[str | Agency], clients: Iterable[str]
) -> tuple[Principal, ...]:
    """The principals of a deployment, names checked (agencies against the vocabulary)."""
    return (
        tuple(Principal(PeerKind.BROKER, check_name(b)) for b in brokers)
        + tuple(Principal(PeerKind.ADAPTER, parse(Agency, a).value) for a in agencies)
        + tuple(Principal(PeerKind.CLIENT, check_name(c)) for c in clients)
    )


def checked(principal: Principal) -> Principal:
    """`principal`, with an adapter's name checked against the agency vocabulary."""
    if principal.kind is PeerKind.ADAPTER:
        parse(Agency, principal.name)
    return principal


#: Broker-side audit logs that belong to no service: the IG lead's own log, agreement
#: approvals, and the referral workflow (see mash/audit/review.py, policy/approval_audit.py,
#: broker/referral_audit.py).
LOCAL_AUDIT_LOGS: tuple[str, ...] = ("ig", "policy", "referrals")


def init_pki(
    home: Home,
    *,
    brokers: Sequence[str] = ("mash-demo",),
    agencies: Sequence[str | Agency] = tuple(Agency),
    clients: Sequence[str] = ("staff",),
    local_logs: Sequence[str] = LOCAL_AUDIT_LOGS,
    force: bool = False,
    clock: Clock = utc_now,
) -> PkiSummary:
    """Create (or complete) the PKI of `home`; with `force`, start again from a new CA.

    `local_logs` are the broker-side audit logs that are not a service's own (the IG
    lead's log, agreement approvals, the referral workflow): their checkpoint keys are
    created and pinned here too, so `mash audit verify` checks them against the trust store.
    """
    principals = principals_for(brokers, agencies, clients)
    now = clock()
    home.ensure()
    created: list[str] = []
    kept: list[str] = []
    ca = _ensure_ca(home, now, force, created, kept)
    store = TrustStore() if force or not home.trust_store.exists() else load_trust_store(home)
    for principal in principals:
        store = _ensure_principal(home, ca, store, principal, now=now, force=force,
                                  created=created, kept=kept)
    for log_owner in local_logs:
        store = _ensure_signing_key(home, store, f"audit-{log_owner}", KeyPurpose.AUDIT_CHECKPOINT,
                                    now=now, force=force, created=created, kept=kept)
    store.save(home.trust_store)
    return PkiSummary(home, tuple(created), tuple(kept), principals)


def issue(home: Home, principal: Principal, *, force: bool = False,
          dns: Sequence[str] = (), ips: Sequence[str] = (),
          clock: Clock = utc_now) -> PkiSummary:
    """Issue the TLS certificate (and signing keys) of one principal, keeping what is good.

    `dns` and `ips` are the service's real server names (`mash pki issue --dns --ip`); a
    certificate that names anything else is re-issued. Without them a service keeps the
    names it has, or gets its per-party demo name (`police.adapter.localhost`).
    """
    principal = checked(principal)
    now = clock()
    created: list[str] = []
    kept: list[str] = []
    ca = load_ca(home)
    store = load_trust_store(home) if home.trust_store.exists() else TrustStore()
    wanted = server_names_for(home, store, principal, dns, ips) if (dns or ips) else None
    store = _ensure_principal(home, ca, store, principal, now=now, force=force,
                              created=created, kept=kept, names=wanted)
    store.save(home.trust_store)
    return PkiSummary(home, tuple(created), tuple(kept), (principal,))


def rotate_tls(home: Home, name: str, *, revoke_old: bool = False,
               clock: Clock = utc_now) -> IssuedCertificate:
    """Give `name` a new TLS key and certificate; optionally revoke the old certificate.

    Without `revoke_old` the old certificate stays valid until it expires, so a
    running service keeps working until it restarts with the new one.
    """
    principal = checked(Principal.from_cert_name(name))
    if home.tls_cert(name).exists() and not home.tls_key(name).exists():
        # Issued from a request: its key lives with its owner, who must renew it.
        raise PkiError(f"{name} holds its own key: its owner renews it with `mash pki request`")
    now = clock()
    old = read_certificate(home, name) if home.tls_cert(name).exists() else None
    names = names_to_keep(home, load_trust_store(home), principal, old)
    issued = _issue_tls(home, load_ca(home), principal, now, names)
    if revoke_old and old is not None:
        revoke_serial(home, name, old.serial_number, reason="superseded", now=now)
    return issued


def expiring(home: Home, within: timedelta, *, clock: Clock = utc_now) -> tuple[str, ...]:
    """Names of the TLS certificates in `home` that expire within `within` from now."""
    cutoff = clock() + within
    names = []
    for path in sorted(home.pki_dir.glob("*.pem")):
        if path == home.ca_cert:
            continue
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        if cert.not_valid_after_utc <= cutoff:
            names.append(path.stem)
    return tuple(names)


def revoke(home: Home, name: str, *, reason: str = "unspecified",
           clock: Clock = utc_now) -> RevokedCert:
    """Put the current TLS certificate of `name` on the revocation list."""
    check_name_or_cert(name)
    cert = read_certificate(home, name)
    return revoke_serial(home, name, cert.serial_number, reason=reason, now=clock())


def revoke_serial(home: Home, name: str, serial: int, *, reason: str,
                  now: datetime) -> RevokedCert:
    """Put certificate `serial` of `name` on the revocation list in the trust store."""
    entry = RevokedCert(serial=serial, name=name, revoked_at=now, reason=reason)
    load_trust_store(home).with_revoked(entry).save(home.trust_store)
    return entry


def rotate_signing(home: Home, owner: str, *, overlap: timedelta = DEFAULT_ROTATION_OVERLAP,
                   clock: Clock = utc_now) -> SigningKey:
    """Replace `owner`'s signing key; old pins stay valid for `overlap`, then expire.

    The overlap lets messages signed just before the rotation, and processes
    not yet restarted, still verify; after it, only the new key is accepted.
    """
    purpose = owner_purpose(owner)
    now = clock()
    store = load_trust_store(home)
    if not store.keys_for(owner):
        raise PkiError(f"no signing key pinned for {owner!r}")
    shortened = superseded(store, owner, now, overlap)
    key = SigningKey.generate(owner)
    write_private(home.signing_key(owner), key.to_pem())
    store = store.with_keys(shortened).with_key(_pin(key, purpose, now))
    store.save(home.trust_store)
    return key


# --- loading ---------------------------------------------------------------------------------
def load_ca(home: Home) -> CertificateAuthority:
    """The CA of `home`; raises `PkiError` if it has not been created."""
    try:
        return CertificateAuthority.from_pem(home.ca_cert.read_bytes(), home.ca_key.read_bytes())
    except FileNotFoundError:
        raise PkiError(f"no CA under {home.pki_dir} (run `mash pki init`)") from None


def load_trust_store(home: Home, *, clock: Clock = utc_now) -> TrustStore:
    """The trust store of `home`."""
    return TrustStore.load(home.trust_store, clock=clock)


def read_certificate(home: Home, name: str) -> x509.Certificate:
    """The TLS certificate of `name`; raises `PkiError` if missing."""
    try:
        return x509.load_pem_x509_certificate(home.tls_cert(name).read_bytes())
    except FileNotFoundError:
        raise PkiError(f"no certificate {name!r} under {home.pki_dir}") from None


def check_name_or_cert(name: str) -> Principal:
    """Parse a certificate name such as `adapter-police`."""
    return Principal.from_cert_name(name)


# --- server names ----------------------------------------------------------------------------
def server_names_for(home: Home, store: TrustStore, principal: Principal,
                     dns: Sequence[str] = (), ips: Sequence[str] = ()) -> ServerNames:
    """The server names `principal` may hold: what was asked, checked, or its demo name.

    Refused (`PkiError`): any name for a client (a client certificate that named a server
    could pose as it); `localhost`, a name under it other than the principal's own demo
    name, and loopback or unspecified addresses (they name every machine, not one party);
    a name another party's current certificate already holds.
    """
    if not principal.serves:
        if dns or ips:
            raise PkiError(f"{principal.cert_name}: client certificates carry no server names")
        return ServerNames()
    hosts = tuple(dict.fromkeys(check_dns_name(d) for d in dns))
    addresses = tuple(dict.fromkeys(check_ip_address(i) for i in ips))
    for host in hosts:
        if is_demo_name(host) and host != principal.demo_server_name:
            raise PkiError(f"{host!r} is not a real server name: names under "
                           f"'localhost' are the demo's, one per party")
    for address in addresses:
        if address.is_loopback or address.is_unspecified or address.is_multicast:
            raise PkiError(f"{address} names no single machine; give the service's own address")
    names = ServerNames(hosts, addresses) if hosts or addresses \
        else ServerNames((principal.demo_server_name,))
    _refuse_names_held_by_others(home, store, principal, names)
    return names


def _refuse_names_held_by_others(home: Home, store: TrustStore, principal: Principal,
                                 names: ServerNames) -> None:
    """One name, one party: a name in two parties' certificates would let each pose as the other."""
    wanted = {*names.dns, *(str(i) for i in names.ips)}
    for path in sorted(home.pki_dir.glob("*.pem")):
        if path == home.ca_cert or path.stem == principal.cert_name:
            continue
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except ValueError:
            continue
        holder = principal_of(cert)
        if holder is None or holder == principal or store.is_revoked(cert.serial_number):
            continue
        held = server_names_of(cert)
        clash = wanted & {*held.dns, *(str(i) for i in held.ips)}
        if clash:
            raise PkiError(f"{', '.join(sorted(clash))} already names {holder.cert_name}; "
                           f"a server name belongs to one party")


def _acceptable(principal: Principal, names: ServerNames) -> bool:
    """Whether a certificate's names fit the rules of `server_names_for` (old certs may not)."""
    if not principal.serves:
        return not names
    if not names:
        return False
    demo = [d for d in names.dns if is_demo_name(d)]
    bad_ip = any(i.is_loopback or i.is_unspecified for i in names.ips)
    return not bad_ip and all(d == principal.demo_server_name for d in demo)


def names_to_keep(home: Home, store: TrustStore, principal: Principal,
                  old: x509.Certificate | None) -> ServerNames:
    """On renewal: the old certificate's names if they are still acceptable, else the default."""
    if old is not None and _acceptable(principal, server_names_of(old)):
        return server_names_of(old)
    return server_names_for(home, store, principal)


# --- internals -------------------------------------------------------------------------------
def _ensure_ca(home: Home, now: datetime, force: bool, created: list[str],
               kept: list[str]) -> CertificateAuthority:
    if not force and home.ca_cert.exists() and home.ca_key.exists():
        ca = load_ca(home)
        if ca.certificate.not_valid_after_utc > now:
            kept.append("ca")
            return ca
    ca = CertificateAuthority.create(now=now)
    write_private(home.ca_key, ca.key_pem())
    write_public(home.ca_cert, ca.cert_pem())
    created.append("ca")
    return ca


def _ensure_principal(
    home: Home, ca: CertificateAuthority, store: TrustStore, principal: Principal, *,
    now: datetime, force: bool, created: list[str], kept: list[str],
    names: ServerNames | None = None,
) -> TrustStore:
    name = principal.cert_name
    if force or not _tls_is_good(home, ca, store, principal, now, names):
        old = read_certificate(home, name) if home.tls_cert(name).exists() else None
        chosen = names if names is not None else names_to_keep(home, store, principal, old)
        _issue_tls(home, ca, principal, now, chosen)
        created.append(f"tls:{name}")
    else:
        kept.append(f"tls:{name}")
    owners = [(principal.signing_owner, principal.signing_purpose),
              (principal.audit_owner, KeyPurpose.AUDIT_CHECKPOINT)]
    for owner, purpose in owners:
        if owner is None or purpose is None:
            continue
        store = _ensure_signing_key(home, store, owner, purpose, now=now, force=force,
                                    created=created, kept=kept)
    return store


def _tls_is_good(home: Home, ca: CertificateAuthority, store: TrustStore, principal: Principal,
                 now: datetime, wanted: ServerNames | None = None) -> bool:
    name = principal.cert_name
    if not (home.tls_cert(name).exists() and home.tls_key(name).exists()):
        return False
    cert = read_certificate(home, name)
    try:
        cert.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, _CryptoInvalidSignature):
        return False
    names = server_names_of(cert)
    if not _acceptable(principal, names) or (wanted is not None and names != wanted):
        return False  # e.g. a certificate from before per-party names, carrying `localhost`
    return not store.is_revoked(cert.serial_number) and cert.not_valid_after_utc > now


def _issue_tls(home: Home, ca: CertificateAuthority, principal: Principal,
               now: datetime, names: ServerNames) -> IssuedCertificate:
    key = new_tls_key()
    cert = ca.issue(principal, key.public_key(), now=now, names=names)
    # Key first: a cert on disk without its key would be unusable.
    write_private(home.tls_key(principal.cert_name), private_key_pem(key))
    write_public(home.tls_cert(principal.cert_name), cert_pem(cert))
    return IssuedCertificate(principal.cert_name, cert.serial_number, cert.not_valid_after_utc)


def _ensure_signing_key(
    home: Home, store: TrustStore, owner: str, purpose: KeyPurpose, *, now: datetime,
    force: bool, created: list[str], kept: list[str],
) -> TrustStore:
    path = home.signing_key(owner)
    if path.exists() and not force:
        key = SigningKey.load(path, owner=owner)
        if key.key_id in {k.key_id for k in store.keys_for(owner, purpose)}:
            kept.append(f"signing:{owner}")
            return store
        created.append(f"pin:{owner}")  # key on disk but not pinned (e.g. store deleted)
        return store.with_key(_pin(key, purpose, now))
    key = SigningKey.generate(owner)
    write_private(path, key.to_pem())
    created.append(f"signing:{owner}")
    return store.with_key(_pin(key, purpose, now))


def _pin(key: SigningKey, purpose: KeyPurpose, now: datetime) -> PinnedKey:
    return pin_public_key(key.owner, purpose, key.public_bytes, now)


def pin_public_key(owner: str, purpose: str, raw_public_key: bytes, now: datetime) -> PinnedKey:
    """A trust-store entry for a new signing key, valid from now for `SIGNING_KEY_VALIDITY`."""
    return PinnedKey(
        key_id=key_id_of(raw_public_key),
        owner=owner,
        purpose=str(purpose),
        public_key=raw_public_key,
        not_before=(now - CLOCK_SKEW).replace(microsecond=0),
        not_after=(now + SIGNING_KEY_VALIDITY).replace(microsecond=0),
    )


def superseded(store: TrustStore, owner: str, now: datetime,
               overlap: timedelta = DEFAULT_ROTATION_OVERLAP) -> list[PinnedKey]:
    """`owner`'s pinned keys with not_after cut to `now + overlap` (they are being replaced)."""
    cutoff = now + overlap
    return [replace(k, not_after=min(k.not_after, cutoff)) for k in store.keys_for(owner)]
