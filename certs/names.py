"""Names of PKI principals: TLS certificate names, SAN URIs and signing-key owners.

One principal is a `(kind, name)` pair: `broker/mash-demo`, `adapter/police`,
`client/staff`. Its TLS files are `<kind>-<name>.pem/.key`, its certificate
carries the SAN URI `mash://<kind>/<name>`, and its message-signing key owner is
`<kind>-<name>` (audit-checkpoint keys: `audit-<kind>-<name>`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

from certs.errors import InvalidName

#: Safe identifier: lowercase, digits, `_` and `-`; used in file names and URIs.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
URI_SCHEME = "mash"
#: Parent of the demo's per-party server names (`police.adapter.localhost`). RFC 6761 keeps
#: `.localhost` off every real network, so no public name or real deployment can collide.
DEMO_DOMAIN = "localhost"
#: A DNS label a real service name may use (RFC 1123; no wildcards: one certificate, one party).
_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class PeerKind(StrEnum):
    """The kinds of TLS principal."""

    BROKER = "broker"
    ADAPTER = "adapter"
    CLIENT = "client"


class KeyPurpose(StrEnum):
    """What a pinned message-signing key may sign."""

    QUERY_SIGNING = "query-signing"
    DISCLOSURE_SIGNING = "disclosure-signing"
    AUDIT_CHECKPOINT = "audit-checkpoint"


def check_name(name: str) -> str:
    """Return `name` if it is a safe identifier, else raise `InvalidName`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidName(f"invalid name {name!r}: use 1-63 of a-z 0-9 _ - (starting a-z0-9)")
    return name


@dataclass(frozen=True)
class Principal:
    """A TLS principal: what its certificate proves it is."""

    kind: PeerKind
    name: str

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def cert_name(self) -> str:
        """File stem of its TLS certificate and key, e.g. `adapter-police`."""
        return f"{self.kind.value}-{self.name}"

    @property
    def uri(self) -> str:
        """SAN URI, e.g. `mash://adapter/police`."""
        return f"{URI_SCHEME}://{self.kind.value}/{self.name}"

    @property
    def serves(self) -> bool:
        """Brokers and adapters are servers and carry server names; clients carry none."""
        return self.kind is not PeerKind.CLIENT

    @property
    def demo_server_name(self) -> str:
        """Its per-party server name on one machine, e.g. `police.adapter.localhost`.

        Built from the principal alone, so only that principal's certificate carries it:
        a client reaching a loopback address checks this name, never plain `localhost`.
        """
        return f"{self.name}.{self.kind.value}.{DEMO_DOMAIN}"

    @property
    def signing_owner(self) -> str | None:
        """Owner of its message-signing key (`broker-<id>`, `adapter-<agency>`); clients: None."""
        return None if self.kind is PeerKind.CLIENT else self.cert_name

    @property
    def signing_purpose(self) -> KeyPurpose | None:
        """What its message-signing key signs: brokers sign queries, adapters disclosures."""
        return {PeerKind.BROKER: KeyPurpose.QUERY_SIGNING,
                PeerKind.ADAPTER: KeyPurpose.DISCLOSURE_SIGNING}.get(self.kind)

    @property
    def audit_owner(self) -> str | None:
        """Owner of its audit-checkpoint key (`audit-broker-<id>`), None for clients."""
        return None if self.kind is PeerKind.CLIENT else f"audit-{self.cert_name}"

    @classmethod
    def from_uri(cls, uri: str) -> Principal:
        """Parse `mash://<kind>/<name>`; raise `InvalidName` if it is not one."""
        prefix = f"{URI_SCHEME}://"
        if not uri.startswith(prefix):
            raise InvalidName(f"not a {URI_SCHEME}:// URI: {uri!r}")
        kind, sep, name = uri[len(prefix):].partition("/")
        if not sep:
            raise InvalidName(f"malformed principal URI: {uri!r}")
        try:
            peer_kind = PeerKind(kind)
        except ValueError:
            raise InvalidName(f"unknown principal kind in {uri!r}") from None
        return cls(peer_kind, check_name(name))

    @classmethod
    def from_cert_name(cls, cert_name: str) -> Principal:
        """Parse `adapter-police` back into a principal."""
        kind, sep, name = cert_name.partition("-")
        if not sep or kind not in {k.value for k in PeerKind}:
            raise InvalidName(f"not a certificate name (kind-name): {cert_name!r}")
        return cls(PeerKind(kind), name)


def check_dns_name(name: str) -> str:
    """Return `name` (lowercased) if it is a plain DNS host name, else raise `InvalidName`.

    Wildcards are refused: a certificate must name one service, never a family of them.
    """
    host = name.strip().lower().rstrip(".") if isinstance(name, str) else ""
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_DNS_LABEL.fullmatch(lab) for lab in labels):
        raise InvalidName(f"invalid DNS name {name!r}: letters, digits, '-' and dots only "
                          "(no wildcards)")
    return host


def check_ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Parse an IPv4 or IPv6 address, or raise `InvalidName`."""
    try:
        return ipaddress.ip_address(text.strip())
    except (ValueError, AttributeError):
        raise InvalidName(f"invalid IP address {text!r}") from None


def is_demo_name(host: str) -> bool:
    """True for `localhost` and every name under it (the demo's names, never a real one)."""
    return host == DEMO_DOMAIN or host.endswith("." + DEMO_DOMAIN)


def owner_purpose(owner: str) -> KeyPurpose:
    """The purpose a signing key of `owner` serves, from the owner's name."""
    if owner.startswith("audit-"):
        return KeyPurpose.AUDIT_CHECKPOINT
    purpose = Principal.from_cert_name(owner).signing_purpose
    if purpose is None:
        raise InvalidName(f"{owner!r} does not own a message-signing key")
    return purpose
