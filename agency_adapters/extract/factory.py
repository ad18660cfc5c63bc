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
from typing import Annotated

import msgspec

from agency_adapters.config import AdapterConfig
from agency_adapters.extract.backend import ExtractBackend
from agency_adapters.extract.schema import ExtractSchema
from mash.config import ConfigError, Strict, decode


class ExtractOptions(Strict, frozen=True):
    """`[backend_options]` of `backend = "extract"` (see the module docstring)."""

    schema: str
    incoming: str
    work: str = ""
    poll_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    max_age_h: float = 36.0
    keep_done: int = 7


def open_backend(config: AdapterConfig, options: Mapping[str, object]) -> ExtractBackend:
    """The extract backend of `config` (an extract waiting at start-up is taken at once)."""
    o = decode(ExtractOptions, options, "backend_options", prefix="backend_options")
    schema = ExtractSchema.load(Path(o.schema), config.agency)
    incoming = Path(o.incoming)
    if not incoming.is_dir():
        raise ConfigError("backend_options", "backend_options.incoming",
                          f"{incoming} is not a folder")
    work = Path(o.work or str(config.home.data_dir / f"extract-{config.agency}"))
    return ExtractBackend(
        str(config.agency), schema, incoming, work, threads=config.backend_threads,
        poll_interval_s=o.poll_interval_s, max_age_h=o.max_age_h,
        retire_after_s=2 * config.backend_timeout_ms / 1000 + 5,
        keep_done=o.keep_done)
