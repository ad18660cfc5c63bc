"""Ablations of the broker's audit log, for `bench.audit_breakdown` ONLY.

Each mode replaces one part of the writer in the process that applies it, so a
benchmark can measure what that part costs on the real path (the real broker,
the real adapters, mTLS, the same load). Never imported by the services
themselves: `bench/ablation/sitecustomize.py` applies a mode in a spawned broker
when the benchmark sets `MASH_BENCH_AUDIT_ABLATION`.

* `full`     -- the log as shipped (nothing replaced);
* `no-sql`   -- the writer encodes, hashes, chains and resolves every entry, but
  `SqliteAuditStore.append` writes nothing (no SQLite, no fsync);
* `hand-off` -- the writer resolves every entry as soon as it takes it off the
  queue: only the queue, the thread and the futures remain;
* `segment`  -- a PROTOTYPE of another design, not what ships: each append is made
  durable by writing its rows to a segment file (`<log>.segment`) and `fdatasync`,
  and a second thread copies them into SQLite (`synchronous = NORMAL`) in batches
  of up to 100 ms. What it lacks to be real: recovery that re-indexes the
  segment's tail after a crash, and readers that wait for the index.

`record_latency(path)` (any mode) times each `submit_many` from the call until its
future resolves, and each store append, and writes the percentiles to `path`
as JSON when the process exits.
"""

from __future__ import annotations

import atexit
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit import log as audit_log
from audit import store as audit_store
from audit.queueing import Sink
from bench.lookup import _percentile

MODES: tuple[str, ...] = ("full", "no-sql", "hand-off")
#: Modes that prototype another design (run with `--modes`; not part of the breakdown).
PROTOTYPES: tuple[str, ...] = ("segment",)
ENV_MODE = "MASH_BENCH_AUDIT_ABLATION"
ENV_LATENCY = "MASH_BENCH_AUDIT_LATENCY"


def apply(mode: str) -> None:
    """Replace the part of the audit writer that `mode` names (in this process only)."""
    if mode not in MODES + PROTOTYPES:
        raise ValueError(f"unknown audit ablation {mode!r}; one of "
                         f"{', '.join(MODES + PROTOTYPES)}")
    if mode == "no-sql":
        def append_nothing(self: audit_store.SqliteAuditStore, entries: Sequence[Any],
                           checkpoint: Any) -> None:
            return None
        audit_store.SqliteAuditStore.append = append_nothing  # type: ignore[method-assign]
    elif mode == "hand-off":
        def resolve_at_once(self: audit_log.AuditLog, batch: list[tuple[Any, Sink]], *,
                            force_checkpoint: bool) -> None:
            for n, (_event, sink) in enumerate(batch, start=1):
                sink.set_result(n)
        audit_log.AuditLog._write = resolve_at_once  # type: ignore[method-assign]
    elif mode == "segment":
        _segment_store()


def _segment_store() -> None:
    """`SqliteAuditStore.append` made durable in a segment file, indexed into SQLite behind."""
    import os
    import queue
    import threading

    import orjson

    sqlite_append = audit_store.SqliteAuditStore.append
    Item = tuple[Sequence[audit_store.StoredEntry], Any]

    class Segment:
        def __init__(self, store: audit_store.SqliteAuditStore) -> None:
            db = Path(store.conn.execute("PRAGMA database_list").fetchone()[2])
            self.fd = os.open(db.with_name(db.name + ".segment"),
                              os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            store.conn.execute("PRAGMA synchronous = NORMAL")
            self.items: queue.SimpleQueue[Item] = queue.SimpleQueue()
            threading.Thread(target=self.index, args=(store,), daemon=True,
                             name="audit-indexer").start()

        def index(self, store: audit_store.SqliteAuditStore) -> None:
            while True:
                items = [self.items.get()]
                deadline = time.monotonic() + 0.1
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        items.append(self.items.get(timeout=left))
                    except queue.Empty:
                        break
                rows: list[audit_store.StoredEntry] = []
                for entries, checkpoint in items:
                    rows.extend(entries)
                    if checkpoint is not None:
                        sqlite_append(store, rows, checkpoint)
                        rows = []
                if rows:
                    sqlite_append(store, rows, None)

    segments: dict[int, Segment] = {}

    def append(self: audit_store.SqliteAuditStore, entries: Sequence[audit_store.StoredEntry],
               checkpoint: Any) -> None:
        seg = segments.get(id(self))
        if seg is None:
            seg = segments[id(self)] = Segment(self)
        os.write(seg.fd, orjson.dumps([[e.id, e.core, e.personal, (e.personal_hash or b"").hex(),
                                        e.prev_hash.hex(), e.entry_hash.hex()] for e in entries])
                 + b"\n")
        os.fdatasync(seg.fd)
        seg.items.put((entries, checkpoint))

    audit_store.SqliteAuditStore.append = append  # type: ignore[method-assign]


def _percentiles_ms(samples: list[float]) -> dict[str, float | int]:
    ms = sorted(1000 * x for x in samples)
    if not ms:
        return {"n": 0}
    return {"n": len(ms), **{f"p{q}_ms": round(_percentile(ms, q / 100), 3) for q in (50, 90, 99)}}


def record_latency(path: Path) -> None:
    """Time every group from `submit_many` to durable, and every store append; dump at exit."""
    durable: list[float] = []
    appends: list[float] = []
    submit_many = audit_log.AuditLog.submit_many
    append = audit_store.SqliteAuditStore.append

    def timed_submit_many(self: audit_log.AuditLog, events: Any) -> Any:
        t0 = time.perf_counter()
        future = submit_many(self, events)
        future.add_done_callback(lambda _f: durable.append(time.perf_counter() - t0))
        return future

    def timed_append(self: audit_store.SqliteAuditStore, entries: Sequence[Any],
                     checkpoint: Any) -> None:
        t0 = time.perf_counter()
        try:
            append(self, entries, checkpoint)
        finally:
            appends.append(time.perf_counter() - t0)

    def dump() -> None:
        path.write_text(json.dumps({"submit_to_durable": _percentiles_ms(durable),
                                    "store_append": _percentiles_ms(appends)}))

    audit_log.AuditLog.submit_many = timed_submit_many  # type: ignore[method-assign]
    audit_store.SqliteAuditStore.append = timed_append  # type: ignore[method-assign]
    atexit.register(dump)
