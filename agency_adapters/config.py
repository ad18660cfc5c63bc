"""An adapter's configuration: one TOML file, validated at start-up.

Example (what `mash demo` writes for the police adapter)::

    agency = "police"
    home = "/srv/mash/.mash"            # keys, trust store, audit log
    listen = "127.0.0.1:0"              # 0: pick a free port, published in run/adapter-police.port
    store = "/srv/mash/.mash/data/police.sqlite"
    trusted_brokers = ["mash-demo"]     # MASH brokers this adapter answers (by certificate + key)
    max_message_bytes = 1048576
    max_clock_skew_s = 300

    [matching]                          # optional: band thresholds (see docs/matching.md)
    model = "/srv/mash/police-match-model.json"   # optional: trained by `mash match train`;
                                                  # absent = the shipped weights
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mash import tomlwrite
from mash.config import ConfigError, Fields, read_toml
from mash.home import Home
from mash.vocab import Agency, UnknownVocabulary, parse

_KEYS = {"agency", "home", "listen", "store", "backend", "backend_options", "policy_dir",
         "trusted_brokers", "max_message_bytes", "max_clock_skew_s", "max_concurrent_queries",
         "json_logs", "matching", "backend_timeout_ms", "backend_threads",
         "health_interval_s"}

#: Backends that ship with mash-hub, by the name a config gives (module:factory, imported
#: only when used so an adapter loads no database driver it does not need).
BUILTIN_BACKENDS: dict[str, str] = {
    "sqlite": "agency_adapters.sqlite_store:open_backend",
    "sql": "agency_adapters.sql.factory:open_backend",
    "extract": "agency_adapters.extract.factory:open_backend",
    "fhir": "agency_adapters.fhir.factory:open_backend",
    "rest": "agency_adapters.rest.factory:open_backend",
}


@dataclass(frozen=True)
class AdapterConfig:
    """Settings of one adapter process."""

    agency: Agency
    home: Home
    store: Path
    listen: str = "127.0.0.1:0"
    policy_dir: Path | None = None
    trusted_brokers: tuple[str, ...] = ("mash-demo",)
    max_message_bytes: int = 1024 * 1024
    max_clock_skew_s: int = 300
    #: queries worked on at once; the rest wait, earliest RAG due time first
    max_concurrent_queries: int = 8
    json_logs: bool = True
    matching: Mapping[str, float] = field(default_factory=dict)
    #: the trained match model (`mash match train`); None = the shipped weights
    match_model: Path | None = None
    #: a name from BUILTIN_BACKENDS ("sqlite": the reference store at `store`) or
    #: "package.module:factory", called with (config, backend_options) and returning an
    #: AgencyBackend or AsyncAgencyBackend for your own system of record.
    backend: str = "sqlite"
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    #: the longest one backend call may take (cut to what is left of the query's deadline)
    backend_timeout_ms: int = 2000
    #: threads a synchronous backend runs in (a stuck system of record holds at most these)
    backend_threads: int = 4
    #: how often the backend is probed for the health check
    health_interval_s: float = 10.0

    @property
    def name(self) -> str:
        """This adapter's service name (TLS certificate, signing key and audit log)."""
        return f"adapter-{self.agency}"

    @classmethod
    def load(cls, path: Path) -> AdapterConfig:
        """Read and validate a config file."""
        f = Fields(path, read_toml(path))
        f.unknown(_KEYS)
        try:
            agency = parse(Agency, f.get("agency", str))
        except UnknownVocabulary as exc:
            raise ConfigError(path, "agency", str(exc)) from None
        home = Home.at(f.get("home", str))
        brokers = f.get("trusted_brokers", list, ["mash-demo"])
        if not brokers or not all(isinstance(b, str) and b for b in brokers):
            raise ConfigError(path, "trusted_brokers", "must be a non-empty list of broker ids")
        matching = f.sub("matching")
        model_path = matching.get("model", str, "")
        policy_dir = f.get("policy_dir", str, "")
        backend = f.get("backend", str, "sqlite")
        if backend not in BUILTIN_BACKENDS and ":" not in backend:
            names = ", ".join(f'"{b}"' for b in BUILTIN_BACKENDS)
            raise ConfigError(path, "backend", f'must be one of {names} or "package.module:factory"')
        return cls(
            agency=agency,
            home=home,
            store=Path(f.get("store", str, str(home.agency_store(agency)))),
            listen=f.get("listen", str, "127.0.0.1:0"),
            policy_dir=Path(policy_dir) if policy_dir else None,
            trusted_brokers=tuple(brokers),
            max_message_bytes=f.get("max_message_bytes", int, 1024 * 1024),
            max_clock_skew_s=f.get("max_clock_skew_s", int, 300),
            max_concurrent_queries=_positive(path, "max_concurrent_queries",
                                             f.get("max_concurrent_queries", int, 8)),
            json_logs=f.get("json_logs", bool, True),
            matching={k: matching.get(k, float) for k in matching.table if k != "model"},
            match_model=Path(model_path) if model_path else None,
            backend=backend,
            backend_options=dict(f.sub("backend_options").table),
            backend_timeout_ms=_positive(path, "backend_timeout_ms",
                                         f.get("backend_timeout_ms", int, 2000)),
            backend_threads=_positive(path, "backend_threads", f.get("backend_threads", int, 4)),
            health_interval_s=_positive_float(path, "health_interval_s",
                                              f.get("health_interval_s", float, 10.0)),
        )

    def to_toml(self) -> dict[str, Any]:
        """The config as a TOML-ready mapping (inverse of `load`)."""
        data: dict[str, Any] = {
            "agency": str(self.agency),
            "home": str(self.home.root),
            "listen": self.listen,
            "store": str(self.store),
            "trusted_brokers": list(self.trusted_brokers),
            "max_message_bytes": self.max_message_bytes,
            "max_clock_skew_s": self.max_clock_skew_s,
            "max_concurrent_queries": self.max_concurrent_queries,
            "json_logs": self.json_logs,
        }
        if self.policy_dir:
            data["policy_dir"] = str(self.policy_dir)
        if self.backend != "sqlite":
            data["backend"] = self.backend
        if self.backend_options:
            data["backend_options"] = dict(self.backend_options)
        data["backend_timeout_ms"] = self.backend_timeout_ms
        data["backend_threads"] = self.backend_threads
        data["health_interval_s"] = self.health_interval_s
        if self.matching or self.match_model:
            data["matching"] = {**self.matching,
                                **({"model": str(self.match_model)} if self.match_model else {})}
        return data

    def write(self, path: Path) -> None:
        """Write this config as TOML."""
        tomlwrite.write(path, self.to_toml())


def _positive(path: Path, field_name: str, value: int) -> int:
    if value < 1:
        raise ConfigError(path, field_name, "must be at least 1")
    return value


def _positive_float(path: Path, field_name: str, value: float) -> float:
    if value <= 0:
        raise ConfigError(path, field_name, "must be more than 0")
    return float(value)
