"""`mash console serve` settings: one TOML file, validated at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec

from mash import tomlwrite
from mash.config import Strict, TomlDocument
from mash.home import Home

#: how long a session may last or idle: 30 seconds to a day
SessionSeconds = Annotated[int, msgspec.Meta(ge=30, le=24 * 3600)]


class OidcEntry(Strict, frozen=True):
    """The `[oidc]` table of the file."""

    discovery_url: str
    client_id: str = "mash-console"


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


@dataclass(frozen=True)
class OidcSettings:
    """The organisation's identity provider, as the console's relying party sees it."""

    discovery_url: str
    client_id: str = "mash-console"


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

    @classmethod
    def load(cls, path: Path) -> ConsoleConfig:
        """Read and validate a config file."""
        doc = TomlDocument.read(path)
        raw = doc.decode(ConsoleFile)
        if not raw.oidc.discovery_url.startswith(("http://", "https://")):
            raise doc.error("oidc.discovery_url", "must be an http(s) URL")
        return cls(
            home=Home.at(raw.home), broker_address=raw.broker_address,
            oidc=OidcSettings(raw.oidc.discovery_url, raw.oidc.client_id),
            broker_id=raw.broker_id, listen_host=raw.listen_host, listen_port=raw.listen_port,
            public_url=raw.public_url, client_certificate=raw.client_certificate, org=raw.org,
            session_idle_s=raw.session_idle_s, session_max_s=raw.session_max_s,
            secure_cookies=raw.secure_cookies, json_logs=raw.json_logs,
        )

    def to_toml(self) -> dict[str, Any]:
        """The config as a TOML-ready mapping (inverse of `load`)."""
        return {
            "home": str(self.home.root), "broker_address": self.broker_address,
            "broker_id": self.broker_id, "listen_host": self.listen_host,
            "listen_port": self.listen_port, "public_url": self.public_url,
            "client_certificate": self.client_certificate, "org": self.org,
            "session_idle_s": self.session_idle_s, "session_max_s": self.session_max_s,
            "secure_cookies": self.secure_cookies, "json_logs": self.json_logs,
            "oidc": {"discovery_url": self.oidc.discovery_url, "client_id": self.oidc.client_id},
        }

    def write(self, path: Path) -> None:
        """Write this config as TOML."""
        tomlwrite.write(path, self.to_toml())
