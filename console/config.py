"""`mash console serve` settings: one TOML file, validated at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from mash import tomlwrite
from mash.config import Strict, TomlDocument
from mash.home import Home
from mash.vocab import Agency, UnknownVocabulary, parse

#: how long a session may last or idle: 30 seconds to a day
SessionSeconds = Annotated[int, msgspec.Meta(ge=30, le=24 * 3600)]


class OidcEntry(Strict, frozen=True):
    """The `[oidc]` table of the file."""

    discovery_url: str
    client_id: str = "mash-console"


class ResearchEntry(Strict, frozen=True):
    """The optional `[research]` table: the adapter whose researcher queue the console shows."""

    address: str
    agency: str = "police"
    server_name: str = ""


class ConsoleFile(Strict, frozen=True):
    """The console's config file as written (keys as in `ConsoleConfig`)."""

    home: str
    broker_address: str
    oidc: OidcEntry
    broker_id: str = "mash-demo"
    listen_host: str = "127.0.0.1"
    listen_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 0
    public_url: str = ""
    client_certificate: str = "client-console"
    org: str = "mash-demo"
    session_idle_s: SessionSeconds = 900
    session_max_s: SessionSeconds = 8 * 3600
    secure_cookies: bool = True
    json_logs: bool = True
    research: ResearchEntry | None = None


@dataclass(frozen=True)
class OidcSettings:
    """The organisation's identity provider, as the console's relying party sees it."""

    discovery_url: str
    client_id: str = "mash-console"


@dataclass(frozen=True)
class ResearchSettings:
    """An agency adapter's researcher queue (backend `research`) that researchers work in."""

    address: str
    agency: str = "police"
    #: the name the adapter's certificate must carry; None: the host of `address`
    server_name: str | None = None


@dataclass(frozen=True)
class ConsoleConfig:
    """Settings of the console process."""

    home: Home
    broker_address: str
    oidc: OidcSettings
    broker_id: str = "mash-demo"
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    #: how browsers reach the console; empty: http://<listen_host>:<bound port>
    public_url: str = ""
    #: the console's own client certificate in the home's PKI (mTLS to the broker; tokens bind to it)
    client_certificate: str = "client-console"
    #: the organisation whose staff may sign in; a token naming another is refused
    org: str = "mash-demo"
    session_idle_s: int = 900
    session_max_s: int = 8 * 3600
    secure_cookies: bool = True
    json_logs: bool = True
    #: the researcher queue page's adapter; None: the page says it is not configured
    research: ResearchSettings | None = None

    @classmethod
    def load(cls, path: Path) -> ConsoleConfig:
        """Read and validate a config file."""
        doc = TomlDocument.read(path)
        raw = doc.decode(ConsoleFile)
        if not raw.oidc.discovery_url.startswith(("http://", "https://")):
            raise doc.error("oidc.discovery_url", "must be an http(s) URL")
        research = None
        if raw.research is not None:
            try:
                parse(Agency, raw.research.agency)
            except UnknownVocabulary as exc:
                raise doc.error("research.agency", str(exc)) from None
            research = ResearchSettings(raw.research.address, raw.research.agency,
                                        raw.research.server_name or None)
        return cls(
            home=Home.at(raw.home), broker_address=raw.broker_address,
            oidc=OidcSettings(raw.oidc.discovery_url, raw.oidc.client_id),
            broker_id=raw.broker_id, listen_host=raw.listen_host, listen_port=raw.listen_port,
            public_url=raw.public_url, client_certificate=raw.client_certificate, org=raw.org,
            session_idle_s=raw.session_idle_s, session_max_s=raw.session_max_s,
            secure_cookies=raw.secure_cookies, json_logs=raw.json_logs, research=research,
        )

    def to_toml(self) -> dict[str, object]:
        """The config as a TOML-ready mapping (inverse of `load`)."""
        data: dict[str, object] = {
            "home": str(self.home.root), "broker_address": self.broker_address,
            "broker_id": self.broker_id, "listen_host": self.listen_host,
            "listen_port": self.listen_port, "public_url": self.public_url,
            "client_certificate": self.client_certificate, "org": self.org,
            "session_idle_s": self.session_idle_s, "session_max_s": self.session_max_s,
            "secure_cookies": self.secure_cookies, "json_logs": self.json_logs,
            "oidc": {"discovery_url": self.oidc.discovery_url, "client_id": self.oidc.client_id},
        }
        if self.research is not None:
            data["research"] = {"address": self.research.address, "agency": self.research.agency,
                                **({"server_name": self.research.server_name}
                                   if self.research.server_name else {})}
        return data

    def write(self, path: Path) -> None:
        """Write this config as TOML."""
        tomlwrite.write(path, self.to_toml())
