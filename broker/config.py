"""The broker's configuration: one TOML file, validated at start-up.

Example (what `mash demo` writes)::

    broker_id = "mash-demo"          # the MASH this broker serves; named in every signed query
    home = "/srv/mash/.mash"
    listen = "127.0.0.1:0"
    max_message_bytes = 1048576
    dev_mode = true                  # the demo only: accept tokens of the home's dev issuer

A production broker has no `dev_mode` and names its staff identity provider instead::

    [identity]
    issuer = "https://login.example.gov.uk/mash"
    audience = "mash-broker-demo-borough"
    jwks_file = "/etc/mash/idp-jwks.json"   # or jwks_url = "https://.../jwks.json"

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
         "deadlines_ms", "adapters", "identity", "dev_mode"}
DEFAULT_DEADLINES_MS = {Rag.RED: 3000, Rag.AMBER: 5000, Rag.GREEN: 8000}
_NO_IDENTITY = ("a broker needs an [identity] section naming the staff identity provider "
                "(issuer, audience, and jwks_file or jwks_url); only a development broker may "
                "run without one, with dev_mode = true")


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
    """The staff identity provider whose tokens the broker accepts.

    Its signing keys come from exactly one of `jwks_file` (a JWKS JSON file the operator
    keeps current) or `jwks_url` (the IdP's published JWKS, HTTPS only, read at start-up).
    """

    issuer: str
    #: this broker's own audience: a token the IdP issued for another broker is refused
    audience: str
    jwks_file: Path | None = None
    jwks_url: str | None = None
    #: the `org` claim of staff of the MASH this broker serves; None: the broker id
    org: str | None = None

    @classmethod
    def parse(cls, f: Fields) -> IdentityProvider:
        """Read and validate an `[identity]` table."""
        f.unknown({"issuer", "audience", "jwks_file", "jwks_url", "org"})
        issuer, audience = f.get("issuer", str), f.get("audience", str)
        for name, value in (("issuer", issuer), ("audience", audience)):
            if not value.strip():
                raise ConfigError(f.source, f"identity.{name}", "must not be empty")
        jwks_file, jwks_url = f.get("jwks_file", str, ""), f.get("jwks_url", str, "")
        if bool(jwks_file) == bool(jwks_url):
            raise ConfigError(f.source, "identity", "name exactly one of jwks_file or jwks_url")
        if jwks_url and not jwks_url.startswith("https://"):
            raise ConfigError(f.source, "identity.jwks_url", "must be an https:// URL")
        return cls(issuer, audience, Path(jwks_file) if jwks_file else None, jwks_url or None,
                   f.get("org", str, "") or None)

    def to_toml(self) -> dict[str, str]:
        """The `[identity]` table."""
        out = {"issuer": self.issuer, "audience": self.audience}
        if self.jwks_file is not None:
            out["jwks_file"] = str(self.jwks_file)
        if self.jwks_url is not None:
            out["jwks_url"] = self.jwks_url
        if self.org:
            out["org"] = self.org
        return out


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
    #: the staff identity provider; without one the broker starts only in `dev_mode`
    identity: IdentityProvider | None = None
    #: development only (`mash demo`, tests): with no `identity`, accept tokens of the
    #: home's development issuer (`mash token issue`), which anyone holding the home can mint
    dev_mode: bool = False

    def __post_init__(self) -> None:
        if self.identity is None and not self.dev_mode:
            raise ConfigError(Path(f"broker-{self.broker_id}"), "identity", _NO_IDENTITY)

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
        identity = IdentityProvider.parse(f.sub("identity")) if "identity" in f.table else None
        dev_mode = f.get("dev_mode", bool, False)
        if identity is None and not dev_mode:
            raise ConfigError(path, "identity", _NO_IDENTITY)
        return cls(
            broker_id=broker_id,
            home=Home.at(f.get("home", str)),
            adapters=tuple(adapters),
            listen=f.get("listen", str, "127.0.0.1:0"),
            policy_dir=Path(policy_dir) if policy_dir else None,
            max_message_bytes=f.get("max_message_bytes", int, 1024 * 1024),
            json_logs=f.get("json_logs", bool, True),
            deadlines_ms=deadlines,
            identity=identity,
            dev_mode=dev_mode,
        )

    def to_toml(self) -> dict[str, Any]:
        """The config as a TOML-ready mapping (inverse of `load`)."""
        data: dict[str, Any] = {
            "broker_id": self.broker_id,
            "home": str(self.home.root),
            "listen": self.listen,
            "max_message_bytes": self.max_message_bytes,
            "json_logs": self.json_logs,
        }
        if self.dev_mode:
            data["dev_mode"] = True
        if self.policy_dir:
            data["policy_dir"] = str(self.policy_dir)
        if self.identity is not None:
            data["identity"] = self.identity.to_toml()
        data["deadlines_ms"] = {str(k): v for k, v in self.deadlines_ms.items()}
        data["adapters"] = [
            {"agency": str(a.agency), "address": a.address,
             **({"server_name": a.server_name} if a.server_name else {})}
            for a in self.adapters]
        return data

    def write(self, path: Path) -> None:
        """Write this config as TOML."""
        tomlwrite.write(path, self.to_toml())
