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
from typing import Annotated

import msgspec

from mash import tomlwrite
from mash.config import Strict, TomlDocument
from mash.home import Home
from mash.vocab import Agency

#: a count that must be at least one
Positive = Annotated[int, msgspec.Meta(ge=1)]


class MatchingEntry(Strict, frozen=True):
    """The `[matching]` table: band thresholds in bits (docs/matching.md) and the model file."""

    certain: float | None = None
    high: float | None = None
    possible: float | None = None
    margin: float | None = None
    high_without_dob: float | None = None
    #: `high` comes down in a store smaller than the 1,000,000 people it was set for
    #: (Fellegi-Sunter prior odds); false keeps it as set
    scale_bars_by_store_size: bool | None = None
    #: a verified number, the date of birth and the surname outweigh a wholly different
    #: given name (`high`) when no twin or sibling is held; false: never sure
    number_outweighs_given_name: bool | None = None
    model: str = ""


class AdapterFile(Strict, frozen=True):
    """An adapter's config file as written (see the module docstring)."""

    agency: Agency
    home: str
    listen: str = "127.0.0.1:0"
    store: str = ""
    backend: str = "sqlite"
    backend_options: dict[str, object] = msgspec.field(default_factory=dict)
    policy_dir: str = ""
    trusted_brokers: Annotated[tuple[Annotated[str, msgspec.Meta(min_length=1)], ...],
                               msgspec.Meta(min_length=1)] = ("mash-demo",)
    max_message_bytes: int = 1024 * 1024
    max_clock_skew_s: int = 300
    max_concurrent_queries: Positive = 8
    json_logs: bool = True
    matching: MatchingEntry = msgspec.field(default_factory=MatchingEntry)
    backend_timeout_ms: Positive = 2000
    backend_threads: Positive = 4
    health_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0

#: Backends that ship with mash-hub, by the name a config gives (module:factory, imported
#: only when used so an adapter loads no database driver it does not need).
BUILTIN_BACKENDS: dict[str, str] = {
    "sqlite": "agency_adapters.sqlite_store:open_backend",
    "sql": "agency_adapters.sql.factory:open_backend",
    "extract": "agency_adapters.extract.factory:open_backend",
    "fhir": "agency_adapters.fhir.factory:open_backend",
    "rest": "agency_adapters.rest.factory:open_backend",
    "research": "agency_adapters.research.backend:open_backend",
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
    matching: Mapping[str, float | bool] = field(default_factory=dict)
    #: the trained match model (`mash match train`); None = the shipped weights
    match_model: Path | None = None
    #: a name from BUILTIN_BACKENDS ("sqlite": the reference store at `store`) or
    #: "package.module:factory", called with (config, backend_options) and returning an
    #: AgencyBackend or AsyncAgencyBackend for your own system of record.
    backend: str = "sqlite"
    backend_options: Mapping[str, object] = field(default_factory=dict)
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
        doc = TomlDocument.read(path)
        raw = doc.decode(AdapterFile)
        home = Home.at(raw.home)
        if raw.backend not in BUILTIN_BACKENDS and ":" not in raw.backend:
            names = ", ".join(f'"{b}"' for b in BUILTIN_BACKENDS)
            raise doc.error("backend", f'must be one of {names} or "package.module:factory"')
        m = raw.matching
        thresholds: dict[str, float | bool | None] = {
            "certain": m.certain, "high": m.high, "possible": m.possible, "margin": m.margin,
            "high_without_dob": m.high_without_dob,
            "scale_bars_by_store_size": m.scale_bars_by_store_size,
            "number_outweighs_given_name": m.number_outweighs_given_name}
        return cls(
            agency=raw.agency,
            home=home,
            store=Path(raw.store or str(home.agency_store(raw.agency))),
            listen=raw.listen,
            policy_dir=Path(raw.policy_dir) if raw.policy_dir else None,
            trusted_brokers=raw.trusted_brokers,
            max_message_bytes=raw.max_message_bytes,
            max_clock_skew_s=raw.max_clock_skew_s,
            max_concurrent_queries=raw.max_concurrent_queries,
            json_logs=raw.json_logs,
            matching={k: v for k, v in thresholds.items() if v is not None},
            match_model=Path(m.model) if m.model else None,
            backend=raw.backend,
            backend_options=dict(raw.backend_options),
            backend_timeout_ms=raw.backend_timeout_ms,
            backend_threads=raw.backend_threads,
            health_interval_s=raw.health_interval_s,
        )

    def to_toml(self) -> dict[str, object]:
        """The config as a TOML-ready mapping (inverse of `load`)."""
        data: dict[str, object] = {
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

