"""`AuditLog`: durable, group-committed, hash-chained appends with signed Merkle checkpoints.

One writer thread owns the file. Callers `submit` events (non-blocking, a
Future) or `append` them (blocking); the writer takes whatever is queued, up
to `max_batch`, hashes it onto the chain and commits it in ONE SQLite
transaction (WAL, synchronous=FULL), then resolves the futures. A resolved id
is therefore on disk; a failed write resolves the futures with
`AuditWriteError` and the caller must fail closed.

Every `checkpoint_every` entries or `checkpoint_seconds` seconds (and on
close), the writer adds a checkpoint -- the RFC 6962 root over all entries so
far -- signed with the owner's Ed25519 key when one is given.
"""

from __future__ import annotations

import fcntl
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.applog import emit
from audit.chain import GENESIS, chain_hash, entry_leaf, personal_digest
from audit.checkpoints import Checkpoint, sign_checkpoint
from audit.errors import AuditFormatError, AuditLogBusy, AuditLogClosed, AuditWriteError
from audit.events import INTENT_CLOSERS, AuditEvent, EventKind, canonical_parts
from audit.merkle import Frontier
from audit.queueing import (
    CheckpointRequest,
    Group,
    Item,
    Redact,
    Sink,
    Stop,
    fail_item,
)
from audit.store import AuditStore, SqliteAuditStore, StoredCheckpoint, StoredEntry
from audit.verify import VerifyReport, verify_log
from mash.clock import Clock, utc_now

__all__ = ["AuditLog", "AuditWriteError", "CommitHook", "VerifyReport", "format_ts", "verify_log"]

CommitHook = Callable[[int, str, AuditEvent], object]


def format_ts(moment: datetime) -> str:
    """An entry timestamp: ISO 8601 UTC with microseconds (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    """An open audit log with its writer thread. Use `AuditLog.open`, then `close` (or `with`)."""

    def __init__(self, store: AuditStore, lock: IO[bytes] | None, path: Path, *, owner: str,
                 checkpoint_key: Ed25519PrivateKey | None, checkpoint_every: int,
                 checkpoint_seconds: float, clock: Clock, max_batch: int,
                 on_commit: Sequence[CommitHook] = ()) -> None:
        self._store = store
        self._lock_file = lock
        self.path = path
        self.owner = owner
        self._key = checkpoint_key
        self._every = checkpoint_every
        self._seconds = checkpoint_seconds
        self._clock = clock
        self._max_batch = max_batch
        self._on_commit = tuple(on_commit)
        # kind -> the hooks that watch it. A hook may declare `kinds` (as `AlertMonitor`
        # does); most entries concern none, and this runs for every entry on the writer.
        watched = [(hook, getattr(hook, "kinds", None)) for hook in self._on_commit]
        self._hooks_by_kind: dict[EventKind, tuple[CommitHook, ...]] = {
            kind: tuple(h for h, kinds in watched if kinds is None or kind in kinds)
            for kind in EventKind}
        self._queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._closed = False
        self._state_lock = threading.Lock()
        self._frontier, self._prev = _resume(store)
        cps = store.checkpoints()
        self._anchored = cps[-1].checkpoint.tree_size if cps else 0
        self._latest: Checkpoint | None = cps[-1].checkpoint if cps else None
        self._last_checkpoint_at = clock()
        self._thread = threading.Thread(target=self._run, name=f"audit-writer-{owner}",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path, *, owner: str, checkpoint_key: Ed25519PrivateKey | None = None,
             checkpoint_every: int = 1000, checkpoint_seconds: float = 10.0,
             clock: Clock = utc_now, max_batch: int = 4096,
             on_commit: Sequence[CommitHook] = ()) -> AuditLog:
        """Open (creating if needed) the log at `path`, owned by `owner`, and start its writer.

        Only one `AuditLog` may write a file at a time (an exclusive lock on
        `<path>.lock`); a second raises `AuditLogBusy`. A log whose entries end
        before its last checkpoint (truncated) raises `AuditFormatError`: it
        must be investigated, not appended to.

        `on_commit` hooks (e.g. an `AlertMonitor`) are called on the writer
        thread with (entry id, timestamp, event) after each entry is durable;
        they must be quick and must not block on this log. A hook with a
        `kinds` attribute (a set of `EventKind`) is only called for those kinds.
        """
        if checkpoint_every < 1 or checkpoint_seconds <= 0 or max_batch < 1:
            raise ValueError("checkpoint_every, checkpoint_seconds and max_batch must be positive")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(path.name + ".lock"), "ab")  # noqa: SIM115 - held while open
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise AuditLogBusy(f"{path.name} is already open for writing") from None
        try:
            store = SqliteAuditStore.create_or_open(path, owner)
        except BaseException:
            lock.close()
            raise
        try:
            log = cls(store, lock, path, owner=owner, checkpoint_key=checkpoint_key,
                      checkpoint_every=checkpoint_every, checkpoint_seconds=checkpoint_seconds,
                      clock=clock, max_batch=max_batch, on_commit=on_commit)
        except BaseException:
            store.close()
            lock.close()
            raise
        emit("audit", "info", "audit_log_opened", owner=owner, entries=log._frontier.size,
                  signed=checkpoint_key is not None)
        return log

    # ------------------------------------------------------------------ writing
    def submit(self, event: AuditEvent) -> Future[int]:
        """Queue `event`; the Future resolves to its entry id once it is durable.

        Never blocks. The Future raises `AuditWriteError` (or `AuditLogClosed`)
        if the entry could not be written: the caller must then fail closed.
        """
        fut: Future[int] = Future()
        fut.set_running_or_notify_cancel()  # an audit write cannot be cancelled
        with self._state_lock:
            if self._closed:
                fut.set_exception(AuditLogClosed(f"audit log {self.owner} is closed"))
                return fut
            self._queue.put((event, fut))
        return fut

    def append(self, event: AuditEvent, timeout: float | None = None) -> int:
        """Write `event` and return its entry id once durable (raises `AuditWriteError`)."""
        return self.submit(event).result(timeout)

    def submit_many(self, events: Sequence[AuditEvent]) -> Future[list[int]]:
        """Queue several events; ONE Future resolves to their ids once all are durable.

        Cheaper for an asyncio caller than one Future per event (one loop wake-up,
        not one per entry). Raises `AuditWriteError` if any of them failed; the
        others may be durable (each entry stands alone in the chain).
        """
        group = Group(events)
        if not group.events:
            group.future.set_result([])
            return group.future
        with self._state_lock:
            if self._closed:
                group.future.set_exception(AuditLogClosed(f"audit log {self.owner} is closed"))
                return group.future
            self._queue.put(group)
        return group.future

    def append_many(self, events: Sequence[AuditEvent]) -> list[int]:
        """Write several events (likely in one transaction); their ids once all are durable."""
        futures = [self.submit(e) for e in events]
        return [f.result() for f in futures]

    def checkpoint_now(self) -> int:
        """Write a checkpoint covering every entry so far; return its tree size."""
        req = CheckpointRequest()
        with self._state_lock:
            if self._closed:
                raise AuditLogClosed(f"audit log {self.owner} is closed")
            self._queue.put(req)
        return req.future.result()

    def close(self) -> None:
        """Flush everything queued, write a final checkpoint, stop the writer, release the file."""
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(Stop())
        self._thread.join()
        self._store.close()
        if self._lock_file is not None:
            self._lock_file.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest durable checkpoint (what the other party is given to witness)."""
        return self._latest

    @property
    def size(self) -> int:
        """Entries written so far (as seen by the writer)."""
        return self._frontier.size

    # ------------------------------------------------------------------ recovery
    def recover_unfinished(self) -> list[int]:
        """Mark every intent with no outcome (a lookup, a received query) `outcome_unknown`.

        Call once after `open`, before serving: a process killed between
        intent and outcome leaves such intents. Returns the new entries' ids.
        """
        events: list[AuditEvent] = []
        for intent, (key, closers) in INTENT_CLOSERS.items():
            with closing(self._reader()) as reader:
                rows = reader.unclosed(intent.value, key, sorted(c.value for c in closers))
            for row in rows:
                events.append(AuditEvent(
                    kind=EventKind.OUTCOME_UNKNOWN, referral_id=row.referral_id,
                    agency=row.agency, outcome="outcome_unknown", refers_to=(row.entry_id,),
                    lookup_id=row.key_value if key == "lookup_id" else None,
                    query_id=row.key_value if key == "query_id" else None))
        ids = self.append_many(events)
        if ids:
            emit("audit", "warning", "audit_unfinished_marked", owner=self.owner, count=len(ids))
        return ids

    # ------------------------------------------------------------------ retention
    def redact(self, entry_ids: Sequence[int], *, reason: str = "retention_expired",
               actor_id: str | None = None, actor_role: str | None = None) -> int:
        """Drop the personal part of these entries, keeping their hashes; return the record's id.

        First an `entry_redacted` entry naming them is made durable, then their
        personal parts (pseudonyms, free text) are removed. The chain and the
        checkpoints still verify, because entries commit to the personal part
        only by its hash; `verify_log` fails for a removal with no such record.
        """
        ids = tuple(sorted({int(i) for i in entry_ids}))
        if not ids or ids[0] < 1 or ids[-1] > self._frontier.size:
            raise ValueError("redact: entry ids must name existing entries")
        event = AuditEvent(kind=EventKind.ENTRY_REDACTED, refers_to=ids, reasons=(reason,),
                           actor_id=actor_id, actor_role=actor_role)
        req = Redact(event, ids)
        with self._state_lock:
            if self._closed:
                raise AuditLogClosed(f"audit log {self.owner} is closed")
            self._queue.put(req)
        return req.future.result()

    def redact_before(self, cutoff: datetime, *, reason: str = "retention_expired") -> list[int]:
        """Redact the personal part of every entry recorded before `cutoff`; the ids redacted."""
        with closing(self._reader()) as reader:
            ids = [e.id for e in reader.entries_where(
                "json_extract(core, '$.ts') < ? AND personal IS NOT NULL", [format_ts(cutoff)])]
        for start in range(0, len(ids), 10_000):  # bounded size of one redaction record
            self.redact(ids[start:start + 10_000], reason=reason)
        return ids

    def _reader(self) -> AuditStore:
        """A separate read-only connection (the writer thread owns the main one)."""
        return SqliteAuditStore.open_readonly(self.path)

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # pragma: no cover - a bug; never leave callers hanging
            emit("audit", "error", "audit_writer_crashed", owner=self.owner,
                 error=type(exc).__name__)
            with self._state_lock:
                self._closed = True
            self._fail_pending(AuditLogClosed(f"audit writer {self.owner} stopped"))

    def _loop(self) -> None:
        backlog: deque[Item] = deque()  # taken from the queue but not yet processed
        while True:
            if backlog:
                first = backlog.popleft()
            else:
                timeout = self._seconds if self._frontier.size > self._anchored else None
                try:
                    first = self._queue.get(timeout=timeout)
                except queue.Empty:
                    self._write([], force_checkpoint=True)
                    continue
            items: list[Item] = [first]
            while len(items) < self._max_batch and not isinstance(items[-1], Redact):
                if backlog:
                    items.append(backlog.popleft())
                    continue
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # A redaction ends a batch, so entries keep their queue order around it.
            last = items[-1]
            redaction = last if isinstance(last, Redact) else None
            if redaction is not None:
                items.pop()
            batch: list[tuple[AuditEvent, Sink]] = []
            for i in items:
                if isinstance(i, tuple):
                    batch.append(i)
                elif isinstance(i, Group):
                    batch.extend((e, i.member(n)) for n, e in enumerate(i.events))
            requests = [i for i in items if isinstance(i, CheckpointRequest)]
            stop = any(isinstance(i, Stop) for i in items)
            try:
                if batch or requests or stop:
                    self._write(batch, force_checkpoint=bool(requests) or stop)
            except BaseException:
                # A bug, not an I/O error (those fail the batch inside _write): fail every
                # caller we hold, closed, before the writer stops.
                err = AuditLogClosed(f"audit writer {self.owner} stopped")
                for item in (*items, *backlog, *([redaction] if redaction else [])):
                    fail_item(item, err)
                raise
            for req in requests:
                req.future.set_result(self._anchored)
            if redaction is not None:
                self._apply_redaction(redaction)
            if stop:
                # Nothing can be queued after Stop (submit checks _closed under the lock).
                self._fail_pending(AuditLogClosed(f"audit log {self.owner} is closed"))
                for item in backlog:
                    fail_item(item, AuditLogClosed(f"audit log {self.owner} is closed"))
                return

    def _write(self, batch: list[tuple[AuditEvent, Sink]], *,
               force_checkpoint: bool) -> None:
        frontier = self._frontier.copy()
        prev = self._prev
        now = self._clock()
        ts = format_ts(now)
        rows: list[StoredEntry] = []
        done: list[tuple[Sink, int, AuditEvent]] = []
        for event, fut in batch:
            try:
                core, personal = canonical_parts(event, ts)
            except (TypeError, ValueError) as exc:
                fut.set_exception(AuditWriteError(f"event cannot be encoded: {exc}"))
                continue
            entry_id = frontier.size + 1
            ph = personal_digest(personal) if personal is not None else None
            leaf = entry_leaf(entry_id, core, ph)
            h = chain_hash(prev, leaf)
            frontier.append(leaf)
            rows.append(StoredEntry(entry_id, core, personal, ph, prev, h))
            done.append((fut, entry_id, event))
            prev = h
        unanchored = frontier.size - self._anchored
        due = unanchored > 0 and (
            force_checkpoint or unanchored >= self._every
            or now - self._last_checkpoint_at >= timedelta(seconds=self._seconds))
        checkpoint = self._checkpoint(frontier, ts) if due else None
        if not rows and checkpoint is None:
            return
        try:
            self._store.append(rows, checkpoint)
        except Exception as exc:
            # The in-memory chain stays at the last durable entry; nothing of this batch exists.
            emit("audit", "error", "audit_write_failed", owner=self.owner, entries=len(rows),
                       error=type(exc).__name__, detail=str(exc))
            err = AuditWriteError(f"audit log {self.owner}: write failed: {exc}")
            for fut, _, _ in done:
                fut.set_exception(err)
            return
        self._frontier, self._prev = frontier, prev
        if checkpoint is not None:
            self._anchored = frontier.size
            self._last_checkpoint_at = now
            self._latest = checkpoint.checkpoint
        for fut, entry_id, _ in done:
            fut.set_result(entry_id)
        for _, entry_id, event in done if self._on_commit else ():
            for hook in self._hooks_by_kind[event.kind]:
                try:
                    hook(entry_id, ts, event)
                except Exception as exc:  # a hook must never stop the audit writer
                    emit("audit", "error", "audit_hook_failed", owner=self.owner,
                         error=type(exc).__name__)

    def _apply_redaction(self, req: Redact) -> None:
        record: Future[int] = Future()
        record.set_running_or_notify_cancel()
        # Signed at once: a redaction record no signed checkpoint covers fails verification,
        # since anyone able to write the file could have appended it.
        self._write([(req.event, record)], force_checkpoint=True)
        try:
            record_id = record.result(timeout=0)
            self._store.redact(req.entry_ids)
        except Exception as exc:
            req.future.set_exception(exc if isinstance(exc, AuditWriteError)
                                     else AuditWriteError(f"redaction failed: {exc}"))
            return
        req.future.set_result(record_id)

    def _checkpoint(self, frontier: Frontier, ts: str) -> StoredCheckpoint:
        cp = Checkpoint(self.owner, frontier.size, frontier.root(), ts)
        if self._key is not None:
            cp = sign_checkpoint(cp, self._key)
        return StoredCheckpoint(cp, tuple(frontier.to_hex()))

    def _fail_pending(self, err: AuditWriteError) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            fail_item(item, err)


def _resume(store: AuditStore) -> tuple[Frontier, bytes]:
    """The Merkle frontier and last chain hash of an existing log (from its last checkpoint)."""
    cps = store.checkpoints()
    count = store.max_id()
    if cps:
        last = cps[-1]
        if last.checkpoint.tree_size > count:
            raise AuditFormatError(
                f"log {store.owner()} is truncated: checkpoint covers {last.checkpoint.tree_size}"
                f" entries, {count} present -- run `mash audit verify`")
        frontier = Frontier.from_hex(last.checkpoint.tree_size, last.frontier)
    else:
        frontier = Frontier()
    prev = GENESIS
    if frontier.size:
        anchor = store.entry(frontier.size)
        if anchor is None:
            raise AuditFormatError(f"log {store.owner()}: entry {frontier.size} missing")
        prev = anchor.entry_hash
    for entry in store.entries(frontier.size + 1):
        if entry.id != frontier.size + 1:
            raise AuditFormatError(f"log {store.owner()}: entry {frontier.size + 1} missing")
        frontier.append(entry_leaf(entry.id, entry.core, entry.personal_hash))
        prev = entry.entry_hash
    return frontier, prev

