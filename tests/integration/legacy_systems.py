"""Stand-ins for agencies' legacy systems (outside mash-hub), loaded as backend plug-ins.

Each reads the agency's real SQLite store and misbehaves on cue, driven by files in a
control folder the test owns: `stall` (every read waits until the file is removed),
`down` (the health probe is refused). Plain synchronous classes, as an agency's own
plug-in would be: the adapter runs them in its thread pool.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from agency_adapters.backend import (
    BackendState,
    BackendUnavailable,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.vocab import Category

#: The longest a stalled read waits (the test removes `stall` well before).
STALL_LIMIT_S = 60.0


class StallingLegacySystem:
    """Answers from the agency store, but stalls while `<control>/stall` exists."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.control = Path(options["control_dir"])
        self.store = SqliteAgencyStore(options["store"])

    def _maybe_stall(self) -> None:
        stall = self.control / "stall"
        if not stall.exists():
            return
        (self.control / "entered").touch()
        give_up = time.monotonic() + STALL_LIMIT_S
        while stall.exists() and time.monotonic() < give_up:
            time.sleep(0.02)

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        self._maybe_stall()
        return self.store.candidates(query)

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        self._maybe_stall()
        return self.store.records_for(person_id, categories)

    def probe(self) -> BackendState:
        if (self.control / "down").exists():
            raise BackendUnavailable("legacy system refused the connection")
        return BackendState(serving=True)

    def close(self) -> None:
        self.store.close()


class BrokenLegacySystem:
    """Fails every read with an error whose text must never reach the broker."""

    SECRET_TEXT = "ORA-03113 end-of-file on channel while reading Jane Smith 2011-01-01"

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        raise RuntimeError(self.SECRET_TEXT)

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        raise RuntimeError(self.SECRET_TEXT)

    def close(self) -> None:
        pass


def stalling(config: object, options: dict[str, Any]) -> StallingLegacySystem:
    """Factory named in an adapter config: `tests.integration.legacy_systems:stalling`."""
    return StallingLegacySystem(options)


def broken(config: object, options: dict[str, Any]) -> BrokenLegacySystem:
    """Factory named in an adapter config: `tests.integration.legacy_systems:broken`."""
    return BrokenLegacySystem(options)
