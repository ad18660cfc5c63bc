import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.errors import AuditFormatError, AuditLogBusy, AuditLogClosed, AuditWriteError
from audit.events import AuditEvent, EventKind
from audit.log import AuditLog, verify_log
from audit.store import SqliteAuditStore
from tests.unit.audit_helpers import FakeClock, lookup_events


def test_append_returns_contiguous_ids_and_the_log_verifies(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker", checkpoint_key=key) as log:
        ids = [log.append(e) for e in lookup_events("R1", "L1")]
    assert ids == list(range(1, len(ids) + 1))
    report = verify_log(tmp_path / "b.sqlite", checkpoint_public_key=key.public_key())
    assert report.ok and report.entries == len(ids) and report.signatures_checked


def test_a_returned_id_is_already_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    log = AuditLog.open(path, owner="broker")
    try:
        entry_id = log.append(AuditEvent(kind=EventKind.LOOKUP_REQUESTED, referral_id="R9"))
        # A separate connection (as another process would) already sees the committed entry.
        with sqlite3.connect(path) as other:
            row = other.execute("SELECT core FROM entries WHERE id = ?", (entry_id,)).fetchone()
        assert row is not None and '"referral_id":"R9"' in row[0]
    finally:
        log.close()


def test_concurrent_submitters_are_group_committed_in_order(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker", checkpoint_every=50) as log, \
            ThreadPoolExecutor(8) as pool:
        futures = list(pool.map(
            lambda i: log.submit(AuditEvent(kind=EventKind.QUERY_SENT, lookup_id=f"L{i}")),
            range(400)))
        ids = sorted(f.result() for f in futures)
    assert ids == list(range(1, 401))
    assert verify_log(path).ok


def test_checkpoints_every_n_entries_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker", checkpoint_every=5) as log:
        for _ in range(12):
            log.append(AuditEvent(kind=EventKind.QUERY_SENT))
    store = SqliteAuditStore.open_readonly(path)
    try:
        assert [c.checkpoint.tree_size for c in store.checkpoints()] == [5, 10, 12]
    finally:
        store.close()


def test_reopening_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    key = Ed25519PrivateKey.generate()
    for round_ in range(3):
        with AuditLog.open(path, owner="broker", checkpoint_key=key, checkpoint_every=4) as log:
            for e in lookup_events(f"R{round_}", f"L{round_}"):
                log.append(e)
    report = verify_log(path, checkpoint_public_key=key.public_key())
    assert report.ok and report.entries == 18 and report.unanchored == 0


def test_time_based_checkpoint_uses_the_injected_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker", checkpoint_every=1000, checkpoint_seconds=10,
                       clock=clock) as log:
        log.append(AuditEvent(kind=EventKind.QUERY_SENT))
        clock.advance(11)
        log.append(AuditEvent(kind=EventKind.QUERY_SENT))
        store = SqliteAuditStore.open_readonly(path)
        sizes = [c.checkpoint.tree_size for c in store.checkpoints()]
        store.close()
    assert sizes == [2]


def test_second_writer_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker"), pytest.raises(AuditLogBusy):
        AuditLog.open(path, owner="broker")


def test_a_log_cannot_be_opened_under_another_owner(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    AuditLog.open(path, owner="broker").close()
    with pytest.raises(AuditFormatError):
        AuditLog.open(path, owner="adapter-police")


def test_submit_after_close_fails_closed(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "b.sqlite", owner="broker")
    log.close()
    with pytest.raises(AuditLogClosed):
        log.submit(AuditEvent(kind=EventKind.QUERY_SENT)).result(timeout=5)


def test_disk_full_fails_the_write_and_the_log_recovers(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        first = log.append(AuditEvent(kind=EventKind.QUERY_SENT))
        pages = log._store.conn.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's page limit makes the next growth fail exactly as a full disk does.
        log._store.conn.execute(f"PRAGMA max_page_count = {pages}")
        big = AuditEvent(kind=EventKind.QUERY_SENT, detail={"note": "x" * 200_000})
        with pytest.raises(AuditWriteError, match="full"):
            log.append(big, timeout=10)
        log._store.conn.execute("PRAGMA max_page_count = 1073741823")
        after = log.append(AuditEvent(kind=EventKind.QUERY_SENT))
    assert after == first + 1  # the failed entry left no gap and no fork in the chain
    assert verify_log(path).ok


def test_locked_database_fails_the_write(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        log.append(AuditEvent(kind=EventKind.QUERY_SENT))
        log._store.conn.execute("PRAGMA busy_timeout = 50")
        locker = sqlite3.connect(path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            with pytest.raises(AuditWriteError, match="locked"):
                log.append(AuditEvent(kind=EventKind.QUERY_SENT), timeout=10)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert log.append(AuditEvent(kind=EventKind.QUERY_SENT)) == 2


def test_an_unencodable_event_fails_alone(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        bad = log.submit(AuditEvent(kind=EventKind.QUERY_SENT, latency_ms=float("nan")))
        good = log.submit(AuditEvent(kind=EventKind.QUERY_SENT))
        with pytest.raises(AuditWriteError):
            bad.result(timeout=5)
        assert good.result(timeout=5) == 1


def test_recover_unfinished_marks_intents_without_outcome(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        for e in lookup_events("R1", "done"):
            log.append(e)
        intent = log.append(AuditEvent(kind=EventKind.LOOKUP_REQUESTED, referral_id="R2",
                                       lookup_id="cut-short"))
        log.append(AuditEvent(kind=EventKind.QUERY_RECEIVED, referral_id="R3", query_id="Q7",
                              agency="police"))
    with AuditLog.open(path, owner="broker") as log:
        marked = log.recover_unfinished()
        assert len(marked) == 2
        assert log.recover_unfinished() == []  # idempotent
    store = SqliteAuditStore.open_readonly(path)
    try:
        cores = [store.entry(i).core_dict() for i in marked]  # type: ignore[union-attr]
    finally:
        store.close()
    assert {c["kind"] for c in cores} == {"outcome_unknown"}
    assert {c.get("lookup_id") or c.get("query_id") for c in cores} == {"cut-short", "Q7"}
    assert [intent] in [c["refers_to"] for c in cores]
    assert verify_log(path).ok


def test_close_flushes_everything_submitted(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    log = AuditLog.open(path, owner="broker")
    futures = [log.submit(AuditEvent(kind=EventKind.QUERY_SENT)) for _ in range(300)]
    log.close()
    assert all(f.done() and not f.exception() for f in futures)
    assert verify_log(path).entries == 300


def test_submit_never_blocks_the_caller(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        hold = threading.Lock()
        with hold:
            fut = log.submit(AuditEvent(kind=EventKind.QUERY_SENT))  # returns a Future at once
        assert fut.result(timeout=5) == 1


def test_an_idle_log_checkpoints_after_checkpoint_seconds(tmp_path: Path) -> None:
    import time

    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker", checkpoint_every=1000,
                       checkpoint_seconds=0.05) as log:
        log.append(AuditEvent(kind=EventKind.QUERY_SENT))
        # Wait for the behaviour (bounded), not for a time: the writer wakes by itself.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with SqliteAuditStore.open_readonly(path) as store:
                if store.checkpoints():
                    break
            time.sleep(0.01)
        with SqliteAuditStore.open_readonly(path) as store:
            assert [c.checkpoint.tree_size for c in store.checkpoints()] == [1]


def test_a_live_log_verifies_while_it_is_being_written(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    key = Ed25519PrivateKey.generate()
    with AuditLog.open(path, owner="broker", checkpoint_key=key, checkpoint_every=7) as log:
        stop = threading.Event()

        def write() -> None:
            i = 0
            while not stop.is_set():
                log.append(AuditEvent(kind=EventKind.QUERY_SENT, lookup_id=f"L{i}",
                                      subject_pseudonyms=(f"p{i % 3}",)))
                i += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            reports = [verify_log(path, checkpoint_public_key=key.public_key())
                       for _ in range(5)]
        finally:
            stop.set()
            writer.join()
    assert all(r.ok for r in reports), [r.problem for r in reports]


def test_a_broken_application_log_never_stops_the_writer(tmp_path: Path) -> None:
    import io

    import structlog

    saved = structlog.get_config()
    dead = io.StringIO()
    dead.close()  # every application-log write now raises
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=dead),
                        cache_logger_on_first_use=False)
    try:
        with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
            log.append(AuditEvent(kind=EventKind.QUERY_SENT))
            pages = log._store.conn.execute("PRAGMA page_count").fetchone()[0]
            log._store.conn.execute(f"PRAGMA max_page_count = {pages}")
            with pytest.raises(AuditWriteError):  # logged as an error: must not hang
                log.append(AuditEvent(kind=EventKind.QUERY_SENT, detail={"n": "x" * 99_999}),
                           timeout=10)
            log._store.conn.execute("PRAGMA max_page_count = 1073741823")
            assert log.append(AuditEvent(kind=EventKind.QUERY_SENT), timeout=10) == 2
            assert log.recover_unfinished() == []
    finally:
        structlog.configure(**saved)


def test_submit_many_resolves_once_with_every_id(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        log.append(AuditEvent(kind=EventKind.QUERY_SENT))
        ids = log.submit_many(lookup_events("R1", "L1")).result(timeout=10)
        assert ids == list(range(2, 2 + len(lookup_events("R1", "L1"))))
        assert log.submit_many([]).result(timeout=1) == []
        bad = log.submit_many([AuditEvent(kind=EventKind.QUERY_SENT),
                               AuditEvent(kind=EventKind.QUERY_SENT, latency_ms=float("inf"))])
        with pytest.raises(AuditWriteError):
            bad.result(timeout=10)
    assert verify_log(tmp_path / "b.sqlite").ok


def test_submit_many_fails_closed_on_a_full_disk(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        log.append(AuditEvent(kind=EventKind.QUERY_SENT))
        pages = log._store.conn.execute("PRAGMA page_count").fetchone()[0]
        log._store.conn.execute(f"PRAGMA max_page_count = {pages}")
        group = log.submit_many([AuditEvent(kind=EventKind.QUERY_SENT,
                                            detail={"note": "x" * 50_000})] * 3)
        with pytest.raises(AuditWriteError):
            group.result(timeout=10)
    log.close()
    with pytest.raises(AuditLogClosed):
        log.submit_many([AuditEvent(kind=EventKind.QUERY_SENT)]).result(timeout=1)


def test_search_fields_are_indexed_and_retired_indexes_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        log.append(AuditEvent(kind=EventKind.QUERY_SENT, referral_id="REF-1"))
    conn = sqlite3.connect(path)
    conn.execute("CREATE INDEX entries_kind ON entries(json_extract(core, '$.kind'))")  # an old log
    conn.execute("DROP INDEX entries_pair_lookup_id")  # ... from before lookup_id was partial
    conn.execute("CREATE INDEX entries_lookup_id ON entries(json_extract(core, '$.lookup_id'))")
    conn.execute("PRAGMA user_version = 0")  # old logs carried no schema version
    conn.commit()
    conn.close()
    with AuditLog.open(path, owner="broker") as log:
        log.append(AuditEvent(kind=EventKind.QUERY_SENT, referral_id="REF-2"))
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    plan = " ".join(str(r) for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM entries WHERE json_extract(core, '$.referral_id') = ?",
        ("REF-2",)))
    conn.close()
    assert "entries_kind" not in names and "entries_query_id" not in names
    assert "entries_lookup_id" not in names  # now partial: recovery is its only user
    assert {"entries_referral_id", "entries_actor_id", "entries_ts",
            "entries_pair_query_id", "entries_pair_lookup_id"} <= names
    assert "USING INDEX entries_referral_id" in plan


def _unclosed_with_plan(path: Path, intent: str, key: str,
                        closers: list[str]) -> tuple[list[tuple[object, ...]], str]:
    """`unclosed` on a read-only store, and SQLite's plan for the query it ran."""
    store = SqliteAuditStore.open_readonly(path)
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        rows = store.unclosed(intent, key, closers)
        plan = " ".join(str(r) for r in store.conn.execute("EXPLAIN QUERY PLAN " + seen[-1]))
    finally:
        store.close()
    return rows, plan


_Q, _L = EventKind.QUERY_RECEIVED, EventKind.LOOKUP_REQUESTED


@pytest.mark.parametrize(("owner", "key", "events", "closers", "unclosed"), [
    ("adapter-police", "query_id",
     [(_Q, "Q-1"), (_Q, "Q-2"), (EventKind.QUERY_SENT, "Q-2"),  # query_sent: not a closer
      (EventKind.DISCLOSURE_SENT, "Q-1")],
     ["disclosure_sent", "query_rejected"], "Q-2"),
    ("broker", "lookup_id",
     [(_L, "L-1"), (_L, "L-2"), (EventKind.QUERY_SENT, "L-2"), (EventKind.LOOKUP_COMPLETED, "L-1")],
     ["lookup_completed", "outcome_unknown"], "L-2"),
])
def test_recovery_pairs_intents_through_a_partial_index(
        tmp_path: Path, owner: str, key: str, events: list[tuple[EventKind, str]],
        closers: list[str], unclosed: str) -> None:
    path = tmp_path / "a.sqlite"
    with AuditLog.open(path, owner=owner) as log:
        log.append_many([AuditEvent(kind=k, referral_id="R-" + v, **{key: v}) for k, v in events])
    rows, plan = _unclosed_with_plan(path, events[0][0].value, key, closers)
    assert [r[1:3] for r in rows] == [(unclosed, "R-" + unclosed)]
    assert f"USING INDEX entries_pair_{key}" in plan
