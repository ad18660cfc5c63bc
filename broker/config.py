"""The broker's configuration: one TOML file, validated at start-up.

Example (what `mash demo` writes)::

    broker_id = "mash-demo"          # the MASH this broker serves; named in every signed query
    home = "/srv/mash/.mash"
    listen = "127.0.0.1:0"
    max_message_bytes = 1048576
    dev_mode = true                  # the demo only: accept tokens of the home's dev issuer
    research_collect_interval_s = 30 # how often researchers' answers are collected

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
from typing import Annotated

import msgspec

from certs.errors import InvalidName
from certs.names import check_dns_name, check_ip_address
from mash import tomlwrite
from mash.config import ConfigError, Strict, TomlDocument
from mash.home import Home
from mash.vocab import Agency, Rag

DEFAULT_DEADLINES_MS = {Rag.RED: 3000, Rag.AMBER: 5000, Rag.GREEN: 8000}
_NO_IDENTITY = ("a broker needs an [identity] section naming the staff identity provider "
                "(issuer, audience, and jwks_file or jwks_url); only a development broker may "
                "run without one, with dev_mode = true")

#: how long a lookup may wait for agencies: 50 ms to 10 minutes
DeadlineMs = Annotated[int, msgspec.Meta(ge=50, le=600_000)]
#: how often the broker collects researchers' answers in the background: 0.1 s to an hour
CollectIntervalS = Annotated[float, msgspec.Meta(ge=0.1, le=3600)]
DEFAULT_COLLECT_INTERVAL_S = 30.0


class AdapterEntry(Strict, frozen=True):
    """One `[[adapters]]` table of the file."""

    agency: Agency
    address: str
    server_name: str = ""


class IdentityEntry(Strict, frozen=True):
    """The `[identity]` table of the file."""

    issuer: str
    audience: str
    jwks_file: str = ""
    jwks_url: str = ""
    org: str = ""


class DeadlinesEntry(Strict, frozen=True):
    """The `[deadlines_ms]` table of the file, by RAG."""

    red: DeadlineMs = DEFAULT_DEADLINES_MS[Rag.RED]
    amber: DeadlineMs = DEFAULT_DEADLINES_MS[Rag.AMBER]
    green: DeadlineMs = DEFAULT_DEADLINES_MS[Rag.GREEN]


class BrokerFile(Strict, frozen=True):
    """The broker's config file as written (see the module docstring)."""

    broker_id: str
    home: str
    listen: str = "127.0.0.1:0"
    policy_dir: str = ""
    max_message_bytes: int = 1024 * 1024
    json_logs: bool = True
    deadlines_ms: DeadlinesEntry = msgspec.field(default_factory=DeadlinesEntry)
    adapters: tuple[AdapterEntry, ...] = ()
    identity: IdentityEntry | None = None
    dev_mode: bool = False
    research_collect_interval_s: CollectIntervalS = DEFAULT_COLLECT_INTERVAL_S


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
    def parse(cls, doc: TomlDocument, entry: IdentityEntry) -> IdentityProvider:
        """Check a decoded `[identity]` table of `doc`."""
        for name, value in (("issuer", entry.issuer), ("audience", entry.audience)):
            if not value.strip():
                raise doc.error(f"identity.{name}", "must not be empty")
        if bool(entry.jwks_file) == bool(entry.jwks_url):
            raise doc.error("identity", "name exactly one of jwks_file or jwks_url")
        if entry.jwks_url and not entry.jwks_url.startswith("https://"):
            raise doc.error("identity.jwks_url", "must be an https:// URL")
        return cls(entry.issuer, entry.audience,
                   Path(entry.jwks_file) if entry.jwks_file else None, entry.jwks_url or None,
                   entry.org or None)

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
    #: how often the broker collects the answers agencies' researchers have given
    research_collect_interval_s: float = DEFAULT_COLLECT_INTERVAL_S

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
        doc = TomlDocument.read(path)
        raw = doc.decode(BrokerFile)
        if not raw.broker_id.replace("-", "").isalnum():
            raise doc.error("broker_id", "letters, digits and '-' only")
        adapters = []
        for i, item in enumerate(raw.adapters):
            if item.server_name:
                try:
                    check_dns_name(item.server_name)
                except InvalidName:
                    try:
                        check_ip_address(item.server_name)
                    except InvalidName:
                        raise doc.error(f"adapters[{i}].server_name",
                                        "must be a DNS name or an IP address") from None
            adapters.append(AdapterEndpoint(item.agency, item.address, item.server_name or None))
        if len({a.agency for a in adapters}) != len(adapters):
            raise doc.error("adapters", "an agency is listed twice")
        d = raw.deadlines_ms
        identity = IdentityProvider.parse(doc, raw.identity) if raw.identity else None
        if identity is None and not raw.dev_mode:
            raise doc.error("identity", _NO_IDENTITY)
        return cls(
            broker_id=raw.broker_id,
            home=Home.at(raw.home),
            adapters=tuple(adapters),
            listen=raw.listen,
            policy_dir=Path(raw.policy_dir) if raw.policy_dir else None,
            max_message_bytes=raw.max_message_bytes,
            json_logs=raw.json_logs,
            deadlines_ms={Rag.RED: d.red, Rag.AMBER: d.amber, Rag.GREEN: d.green},
            identity=identity,
            dev_mode=raw.dev_mode,
            research_collect_interval_s=raw.research_collect_interval_s,
        )

    def to_toml(self) -> dict[str, object]:
        """The config as a TOML-ready mapping (inverse of `load`)."""
        data: dict[str, object] = {
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
        if self.research_collect_interval_s != DEFAULT_COLLECT_INTERVAL_S:
            data["research_collect_interval_s"] = self.research_collect_interval_s
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
