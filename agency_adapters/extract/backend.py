"""`ExtractBackend`: the agency's last good extract, swapped for a new one only when it passes.

The export job writes its CSV files into the incoming folder and, last, the ready file.
The adapter (polling every `poll_interval_s`) then validates the extract in a worker
thread and builds a new snapshot store beside the one in use; only when the extract
passes is the snapshot swapped in (a pointer file replaced atomically, then the view
new queries read), so an answer is always read from one whole extract. A refused
extract leaves the old one in use and is reported in health until a later one passes.
Every answer carries the extract's time as `data_as_of`.

Files under the work folder: `snapshots/<stamp>.sqlite`, `current` (the snapshot in use),
`reports/<stamp>.txt` (every problem, by file, line and column), `done/<stamp>-accepted/`
and `done/<stamp>-refused/` (the processed files, the last `keep_done` of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from agency_adapters.backend import (
    AgencyView,
    BackendState,
    BackendUnavailable,
    Person,
    QueryIdentifiers,
    Record,
)
from agency_adapters.backend_threads import ThreadedBackend
from agency_adapters.extract.schema import ExtractSchema
from agency_adapters.extract.validate import ExtractRefused, Outcome, build_snapshot, read_ready
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.clock import Clock, utc_now
from mash.files import write_text
from mash.logs import get_logger

log = get_logger("adapter")

#: Problems written to the application log per extract (all of them go to the report).
LOGGED_PROBLEMS = 5


@dataclass
class _Snapshot:
    """One accepted extract, opened for queries."""

    name: str
    backend: ThreadedBackend
    data_as_of: str
    people: int


class _NoExtract:
    """The view before any extract has been accepted: every read says so."""

    data_as_of: str | None = None

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def candidates(self, query: QueryIdentifiers) -> list[Person]:
        raise BackendUnavailable(self.reason)

    async def records_for(self, person_id: str, categories: object) -> list[Record]:
        raise BackendUnavailable(self.reason)

    def name_frequencies(self) -> NameFrequencies | None:
        return None


class ExtractBackend:
    """An `AsyncAgencyBackend` serving the last extract that passed (see module docstring)."""

    def __init__(self, agency: str, schema: ExtractSchema, incoming: Path, work: Path, *,
                 threads: int = 4, poll_interval_s: float = 60.0, max_age_h: float = 36.0,
                 retire_after_s: float = 30.0, keep_done: int = 7,
                 clock: Clock = utc_now) -> None:
        self.agency = agency
        self.schema = schema
        self.incoming = incoming
        self.work = work
        self.threads = threads
        self.poll_interval_s = poll_interval_s
        self.max_age_h = max_age_h
        self.retire_after_s = retire_after_s
        self.keep_done = keep_done
        self.clock = clock
        self.refused = ""  # why the last extract was refused ("" once one passes)
        self._current: _Snapshot | None = None
        self._watcher: asyncio.Task[None] | None = None
        for sub in ("snapshots", "reports", "done"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        self._open_current()

    # ------------------------------------------------------------------ AsyncAgencyBackend

    def view(self) -> AgencyView:
        """The extract in use (one whole extract for the whole query)."""
        current = self._current
        if current is None:
            return _NoExtract(f"no extract has been accepted yet (waiting for "
                              f"{self.incoming / self.schema.ready_file})")
        return current.backend

    async def probe(self) -> BackendState:
        """Serving once an extract is in use; a refused or stale extract is a fault."""
        current = self._current
        if current is None:
            reason = self.refused or (f"no extract has been accepted yet (waiting for "
                                      f"{self.incoming / self.schema.ready_file})")
            return BackendState(serving=False, fault=reason)
        faults = [self.refused] if self.refused else []
        age = self.clock() - datetime.fromisoformat(current.data_as_of)
        if age > timedelta(hours=self.max_age_h):
            faults.append(f"the extract in use is from {current.data_as_of}, more than "
                          f"{self.max_age_h:g} h ago: has the nightly export stopped?")
        return BackendState(True, "; ".join(faults), current.data_as_of)

    async def start(self) -> None:
        """Watch the incoming folder for new extracts (called once the server is up)."""
        self._watcher = asyncio.create_task(self._watch())

    async def aclose(self) -> None:
        """Stop watching and close the extract in use."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._current is not None:
            await self._current.backend.aclose()

    # ------------------------------------------------------------------ new extracts

    def pending(self) -> bool:
        """Has the export job finished writing a new extract?"""
        return (self.incoming / self.schema.ready_file).is_file()

    async def _watch(self) -> None:
        while True:
            if self.pending():
                await self.take_pending()
            await asyncio.sleep(self.poll_interval_s)

    async def take_pending(self) -> bool:
        """Process the waiting extract off the event loop; swap it in if it passed."""
        new = await asyncio.to_thread(self.process_pending)
        if new is None:
            return False
        old, self._current = self._current, new
        if old is not None:
            # Queries already reading the old extract finish on it; close it afterwards.
            asyncio.get_running_loop().call_later(
                self.retire_after_s, lambda: asyncio.ensure_future(self._retire(old)))
        return True

    async def _retire(self, old: _Snapshot) -> None:
        await old.backend.aclose()
        (self.work / "snapshots" / old.name).unlink(missing_ok=True)

    def process_pending(self) -> _Snapshot | None:
        """Validate and build the waiting extract (blocking); the snapshot if it passed."""
        # Time first (files sort by it), then a random part: never the same name twice.
        stamp = f"{self.clock().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
        target = self.work / "snapshots" / f"{stamp}.sqlite"
        ready = self.incoming / self.schema.ready_file
        outcome: Outcome | None = None
        try:
            as_of = read_ready(ready, self.clock)
            current = self._current
            if current is not None and as_of <= current.data_as_of:
                raise ExtractRefused(f"{self.schema.ready_file}: the extract time {as_of} is not "
                                     f"later than the extract in use ({current.data_as_of})")
            outcome = build_snapshot(self.incoming, self.schema, target, agency=self.agency,
                                     data_as_of=as_of,
                                     people_in_use=current.people if current else None)
        except ExtractRefused as exc:
            outcome = exc.outcome or outcome
            report = self._report(stamp, outcome, refused=str(exc))
            self.refused = f"extract refused: {exc} (report: {report})"
            log.warning("extract_refused", agency=self.agency, reason=str(exc),
                        report=str(report))
            self._file_away(stamp, "refused")
            return None
        report = self._report(stamp, outcome, refused="")
        write_text(self.work / "current", target.name + "\n")
        self.refused = ""
        bad = sum(outcome.bad_rows.values())
        log.info("extract_accepted", agency=self.agency, data_as_of=outcome.data_as_of,
                 people=outcome.people, records=outcome.records, bad_rows=bad,
                 seconds=round(outcome.seconds, 2), report=str(report))
        for problem in outcome.problems[:LOGGED_PROBLEMS]:
            log.warning("extract_row_skipped", agency=self.agency, problem=str(problem))
        self._file_away(stamp, "accepted")
        return self._open(target.name)

    def _report(self, stamp: str, outcome: Outcome | None, refused: str) -> Path:
        path = self.work / "reports" / f"{stamp}.txt"
        lines = [f"extract for {self.agency}, processed {self.clock().isoformat()}",
                 f"result: {'REFUSED: ' + refused if refused else 'accepted'}"]
        if outcome is not None:
            lines.append(f"data as of: {outcome.data_as_of}")
            for name, rows in outcome.rows.items():
                lines.append(f"{name}: {rows:,} rows, {outcome.bad_rows[name]:,} skipped")
            lines += [str(p) for p in outcome.problems]
        path.write_text("\n".join(lines) + "\n")
        return path

    def _file_away(self, stamp: str, result: str) -> None:
        """Move the processed files out of the incoming folder (the ready file last)."""
        done = self.work / "done" / f"{stamp}-{result}"
        done.mkdir(parents=True, exist_ok=True)
        names = [self.schema.people.file, *(r.file for r in self.schema.records),
                 self.schema.ready_file]
        for name in names:
            source = self.incoming / name
            if source.exists():
                shutil.move(str(source), done / name)
        kept = sorted((self.work / "done").iterdir())
        for old in kept[:-self.keep_done] if self.keep_done else kept:
            shutil.rmtree(old, ignore_errors=True)

    # ------------------------------------------------------------------ start-up

    def _open(self, name: str) -> _Snapshot:
        store = SqliteAgencyStore(self.work / "snapshots" / name)
        backend = ThreadedBackend(store, self.threads)
        as_of = store.data_as_of or ""
        return _Snapshot(name, backend, as_of, store.count_people())

    def _open_current(self) -> None:
        pointer = self.work / "current"
        if pointer.is_file():
            name = pointer.read_text().strip()
            if (self.work / "snapshots" / name).is_file():
                self._current = self._open(name)
        if self.pending():
            new = self.process_pending()
            if new is not None:
                old, self._current = self._current, new
                if old is not None:  # nothing reads it yet: close it at once
                    old.backend.close()
                    (self.work / "snapshots" / old.name).unlink(missing_ok=True)
