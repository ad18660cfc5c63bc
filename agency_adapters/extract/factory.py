"""`backend = "extract"`: serve the agency's nightly extract.

Adapter config::

    backend = "extract"

    [backend_options]
    schema = "/srv/mash-adapter/extract-schema.toml"   # the declared schema of the files
    incoming = "/srv/mash-adapter/extract/incoming"    # where the export job writes them
    poll_interval_s = 60                               # how often to look for a new extract
    max_age_h = 36                                     # older data is a fault in health
    keep_done = 7                                      # processed extracts kept for checking
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agency_adapters.config import AdapterConfig
from agency_adapters.extract.backend import ExtractBackend
from agency_adapters.extract.schema import ExtractSchema
from mash.config import ConfigError, Fields

_OPTIONS = {"schema", "incoming", "work", "poll_interval_s", "max_age_h", "keep_done"}


def open_backend(config: AdapterConfig, options: Mapping[str, Any]) -> ExtractBackend:
    """The extract backend of `config` (an extract waiting at start-up is taken at once)."""
    f = Fields("backend_options", options, "backend_options.")
    f.unknown(_OPTIONS)
    schema = ExtractSchema.load(Path(f.get("schema", str)), config.agency)
    incoming = Path(f.get("incoming", str))
    if not incoming.is_dir():
        raise ConfigError("backend_options", "backend_options.incoming",
                          f"{incoming} is not a folder")
    work = Path(f.get("work", str, str(config.home.data_dir / f"extract-{config.agency}")))
    poll = f.get("poll_interval_s", float, 60.0)
    if poll <= 0:
        raise ConfigError("backend_options", "backend_options.poll_interval_s", "must be > 0")
    return ExtractBackend(
        str(config.agency), schema, incoming, work, threads=config.backend_threads,
        poll_interval_s=poll, max_age_h=f.get("max_age_h", float, 36.0),
        retire_after_s=2 * config.backend_timeout_ms / 1000 + 5,
        keep_done=f.get("keep_done", int, 7))
