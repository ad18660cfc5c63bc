"""The broker's configuration: one TOML file, validated at start-up.

Example (what `mash demo` writes)::

    broker_id = "mash-demo"          # the MASH this broker serves; named in every signed query
    home = "/srv/mash/.mash"
    listen = "127.0.0.1:0"
    max_message_bytes = 1048576

    [deadlines_ms]                   # how long a lookup waits for agencies, by RAG
    red = 3000
    amber = 5000
    green = 8000

    [[adapters]]
    agency = "police"
    address = "police-adapter.example.org:50051"
    # server_name = "police-adapter.example.org"   # the name its certificate must carry;
    #                                              # default: the host of `address`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certs.errors import InvalidName
from certs.names import check_dns_name, check_ip_address
from mash import tomlwrite
from mash.config import ConfigError, Fields, read_toml
from mash.home import Home
from mash.vocab import Agency, Rag, UnknownVocabulary, parse

_KEYS = {"broker_id", "home", "listen", "policy_dir", "max_message_bytes", "json_logs",
         "deadlines_ms", "adapters", "audit_enabled", "identity"}
DEFAULT_DEADLINES_MS = {Rag.RED: 3000, Rag.AMBER: 5000, Rag.GREEN: 8000}


@dataclass(frozen=True)
class AdapterEndpoint:
    """Where the broker reaches one agency's adapter."""

    agency: Agency
    address: str
    #: the DNS name (or IP) the adapter's certificate must carry; None: the host of `address`
    #: (on loopback: the adapter's per-party demo name, see `certs.tls.target_name`)
    server_name: str | None = None


@dataclass(frozen=True)
class IdentityProvider:
    """The staff identity provider whose tokens the broker accepts."""

    issuer: str
    #: this broker's own audience: a token the IdP issued for another broker is refused
    audience: str
    jwks_file: Path  # the IdP's published signing keys (JWKS JSON)
    #: the `org` claim of staff of the MASH this broker serves; None: the broker id
    org: str | None = None


@dataclass(frozen=True)
class BrokerConfig:
    """Settings of the broker process."""

    broker_id: str
    home: Home
    adapters: tuple[AdapterEndpoint, ...]
    listen: str = "127.0.0.1:0"
    policy_dir: Path | None = None
    max_message_bytes: int = 1024 * 1024
    json_logs: bool = True
    deadlines_ms: dict[Rag, int] = field(default_factory=lambda: dict(DEFAULT_DEADLINES_MS))
    #: off only for the benchmark's "log off" comparison; never in production.
    audit_enabled: bool = True
    #: None: the development issuer in the home folder (`mash token issue`)
    identity: IdentityProvider | None = None

    @property
    def name(self) -> str:
        """This broker's service name (TLS certificate, signing key, audit log)."""
        return f"broker-{self.broker_id}"

    @classmethod
    def load(cls, path: Path) -> BrokerConfig:
        """Read and validate a config file."""
        f = Fields(path, read_toml(path))
        f.unknown(_KEYS)
        broker_id = f.get("broker_id", str)
        if not broker_id.replace("-", "").isalnum():
            raise ConfigError(path, "broker_id", "letters, digits and '-' only")
        adapters = []
        raw = f.get("adapters", list, [])
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise ConfigError(path, f"adapters[{i}]", "must be a table")
            a = Fields(path, item, f"adapters[{i}].")
            a.unknown({"agency", "address", "server_name"})
            try:
                agency = parse(Agency, a.get("agency", str))
            except UnknownVocabulary as exc:
                raise ConfigError(path, f"adapters[{i}].agency", str(exc)) from None
            server_name = a.get("server_name", str, "")
            if server_name:
                try:
                    check_dns_name(server_name)
                except InvalidName:
                    try:
                        check_ip_address(server_name)
                    except InvalidName:
                        raise ConfigError(path, f"adapters[{i}].server_name",
                                          "must be a DNS name or an IP address") from None
            adapters.append(AdapterEndpoint(agency, a.get("address", str), server_name or None))
        if len({a.agency for a in adapters}) != len(adapters):
            raise ConfigError(path, "adapters", "an agency is listed twice")
        d = f.sub("deadlines_ms")
        d.unknown({r.value for r in Rag})
        deadlines = {r: d.get(r.value, int, DEFAULT_DEADLINES_MS[r]) for r in Rag}
        for r, ms in deadlines.items():
            if not 50 <= ms <= 600_000:
                raise ConfigError(path, f"deadlines_ms.{r}", "must be 50..600000 ms")
        policy_dir = f.get("policy_dir", str, "")
        identity = None
        if "identity" in f.table:
            idp = f.sub("identity")
            idp.unknown({"issuer", "audience", "jwks_file", "org"})
            identity = IdentityProvider(idp.get("issuer", str), idp.get("audience", str),
                                        Path(idp.get("jwks_file", str)),
                                        idp.get("org", str, "") or None)
        return cls(
            broker_id=broker_id,
            home=Home.at(f.get("home", str)),
            adapters=tuple(adapters),
            listen=f.get("listen", str, "127.0.0.1:0"),
            policy_dir=Path(policy_dir) if policy_dir else None,
            max_message_bytes=f.get("max_message_bytes", int, 1024 * 1024),
            json_logs=f.get("json_logs", bool, True),
            deadlines_ms=deadlines,
            audit_enabled=f.get("audit_enabled", bool, True),
            identity=identity,
        )

    def to_toml(self) -> dict[str, Any]:
        """The config as a TOML-ready mapping (inverse of `load`)."""
        data: dict[str, Any] = {
            "broker_id": self.broker_id,
            "home": str(self.home.root),
            "listen": self.listen,
            "max_message_bytes": self.max_message_bytes,
            "json_logs": self.json_logs,
            "audit_enabled": self.audit_enabled,
        }
        if self.policy_dir:
            data["policy_dir"] = str(self.policy_dir)
        if self.identity is not None:
            data["identity"] = {"issuer": self.identity.issuer, "audience": self.identity.audience,
                                "jwks_file": str(self.identity.jwks_file),
                                **({"org": self.identity.org} if self.identity.org else {})}
        data["deadlines_ms"] = {str(k): v for k, v in self.deadlines_ms.items()}
        data["adapters"] = [
            {"agency": str(a.agency), "address": a.address,
             **({"server_name": a.server_name} if a.server_name else {})}
            for a in self.adapters]
        return data

    def write(self, path: Path) -> None:
        """Write this config as TOML."""
        tomlwrite.write(path, self.to_toml())
