"""`WalCheckpointer`: copies a log's WAL into its database file off the commit path.

With SQLite's automatic checkpoint, the commit that pushes the WAL past 1000
pages also copies those pages into the database file and fsyncs it -- a spike
of several milliseconds (tens under disk contention) on whichever audit write,
and so whichever lookup, happens to cross the line: a p99 outlier by design.
SQLite's documentation suggests, for such applications, turning the automatic
checkpoint down and running checkpoints from a separate thread; a PASSIVE
checkpoint never blocks the writer, and the WAL frames it copies were already
durable, so this changes when pages reach the main file, never what is durable.

The writer keeps a high automatic-checkpoint limit as a safety net: if this
thread were ever stuck, the WAL still cannot grow without bound.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from mash.logs import get_logger

_log = get_logger("audit")

#: The writer's automatic checkpoint limit while a checkpointer runs (pages; ~40 MB at 4 KiB).
SAFETY_NET_PAGES = 10_000


class WalCheckpointer:
    """A daemon thread running PASSIVE checkpoints of one SQLite file every `interval_s`."""

    def __init__(self, path: Path, *, interval_s: float = 0.25) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.path = Path(path)
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = False
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # Never wait on the writer: a PASSIVE checkpoint does what it can now.
        self._conn.execute("PRAGMA busy_timeout = 0")
        self._thread = threading.Thread(target=self._run, name=f"audit-wal-{self.path.stem}",
                                        daemon=True)
        self._thread.start()

    def checkpoint(self) -> tuple[int, int, int]:
        """Run one PASSIVE checkpoint now: (busy, WAL frames, frames copied), as SQLite says."""
        row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def nudge(self) -> None:
        """Ask for a checkpoint soon (the writer calls this after large commits)."""
        self._wake.set()

    def close(self) -> None:
        """Stop the thread, then release the connection (call after the writer has stopped)."""
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stopping:
                return
            try:
                self.checkpoint()
            except sqlite3.Error as exc:
                # Harmless: entries are durable in the WAL; the writer's safety net still applies.
                _log.warning("audit_wal_checkpoint_failed", file=self.path.name,
                             error=type(exc).__name__)
