"""`mash console serve` settings: one TOML file, validated at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mash import tomlwrite
from mash.config import ConfigError, Fields, read_toml
from mash.home import Home

_KEYS = {"home", "listen_host", "listen_port", "public_url", "broker_address", "broker_id",
         "client_certificate", "org", "session_idle_s", "session_max_s", "secure_cookies",
         "oidc", "json_logs"}


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
        f = Fields(path, read_toml(path))
        f.unknown(_KEYS)
        o = f.sub("oidc")
        o.unknown({"discovery_url", "client_id"})
        oidc = OidcSettings(o.get("discovery_url", str), o.get("client_id", str, "mash-console"))
        if not oidc.discovery_url.startswith(("http://", "https://")):
            raise ConfigError(path, "oidc.discovery_url", "must be an http(s) URL")
        cfg = cls(
            home=Home.at(f.get("home", str)), broker_address=f.get("broker_address", str),
            oidc=oidc, broker_id=f.get("broker_id", str, "mash-demo"),
            listen_host=f.get("listen_host", str, "127.0.0.1"),
            listen_port=f.get("listen_port", int, 0), public_url=f.get("public_url", str, ""),
            client_certificate=f.get("client_certificate", str, "client-console"),
            org=f.get("org", str, "mash-demo"), session_idle_s=f.get("session_idle_s", int, 900),
            session_max_s=f.get("session_max_s", int, 8 * 3600),
            secure_cookies=f.get("secure_cookies", bool, True),
            json_logs=f.get("json_logs", bool, True),
        )
        for name in ("session_idle_s", "session_max_s"):
            if not 30 <= getattr(cfg, name) <= 24 * 3600:
                raise ConfigError(path, name, "must be 30..86400 seconds")
        if not 0 <= cfg.listen_port <= 65535:
            raise ConfigError(path, "listen_port", "must be 0..65535")
        return cfg

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
