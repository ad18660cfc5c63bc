"""Group submits (`AuditLog.submit_many`) and the event-loop batching sink keep durability."""

import asyncio
import sqlite3
from concurrent.futures import Future
from pathlib import Path

import pytest

from audit.errors import AuditLogClosed, AuditWriteError
from audit.events import AuditEvent, EventKind
from audit.log import AuditLog, verify_log
from audit.loop_sink import LoopBatchingSink


def _events(n: int, lookup: str = "L1") -> list[AuditEvent]:
    return [AuditEvent(kind=EventKind.QUERY_SENT, lookup_id=lookup, query_id=f"Q{i}")
            for i in range(n)]


def test_submit_many_resolves_once_with_ids_in_order_and_entries_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        first = log.append(AuditEvent(kind=EventKind.LOOKUP_REQUESTED, lookup_id="L1"))
        ids = log.submit_many(_events(5)).result(10)
        with sqlite3.connect(path) as other:
            rows = other.execute("SELECT id FROM entries WHERE id > ? ORDER BY id",
                                 (first,)).fetchall()
    assert ids == [first + 1 + i for i in range(5)]
    assert [r[0] for r in rows] == ids
    assert verify_log(path).ok


def test_submit_many_of_nothing_resolves_at_once(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        assert log.submit_many([]).result(0) == []


def test_submit_many_after_close_fails_closed(tmp_path: Path) -> None:
    log = AuditLog.open(tmp_path / "b.sqlite", owner="broker")
    log.close()
    with pytest.raises(AuditLogClosed):
        log.submit_many(_events(2)).result(1)


def test_a_failed_group_write_fails_every_event_of_the_group(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        log.append(AuditEvent(kind=EventKind.LOOKUP_REQUESTED))
        # Another connection holds the write lock: the writer's commit fails (busy timeout).
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("PRAGMA busy_timeout = 0")
        blocker.execute("BEGIN IMMEDIATE")
        try:
            log._store.conn.execute("PRAGMA busy_timeout = 0")
            group = log.submit_many(_events(3))
            with pytest.raises(AuditWriteError):
                group.result(10)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        # The chain stayed at the last durable entry: later writes continue it.
        assert log.submit_many(_events(2)).result(10) == [2, 3]
    assert verify_log(path).ok


class _Recorder:
    """A stand-in log that records how events were handed over."""

    def __init__(self) -> None:
        self.groups: list[list[AuditEvent]] = []
        self.singles = 0
        self.fail = False

    def submit(self, event: AuditEvent) -> Future[int]:
        self.singles += 1
        f: Future[int] = Future()
        f.set_result(0)
        return f

    def submit_many(self, events: list[AuditEvent]) -> Future[list[int]]:
        self.groups.append(list(events))
        f: Future[list[int]] = Future()
        if self.fail:
            f.set_exception(AuditWriteError("disk full"))
        else:
            start = sum(len(g) for g in self.groups[:-1]) + 1
            f.set_result(list(range(start, start + len(events))))
        return f


def test_the_sink_hands_one_group_per_loop_turn_and_resolves_each_event() -> None:
    rec = _Recorder()
    sink = LoopBatchingSink(rec)

    async def lookups() -> list[list[int]]:
        async def one(k: int) -> list[int]:
            futures = [sink.submit(e) for e in _events(3, lookup=f"L{k}")]
            return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))
        return list(await asyncio.gather(*(one(k) for k in range(4))))

    results = asyncio.run(lookups())
    assert len(rec.groups) == 1 and len(rec.groups[0]) == 12
    assert sorted(i for r in results for i in r) == list(range(1, 13))
    assert rec.singles == 0


def test_the_sink_fails_every_waiting_caller_closed_when_the_group_fails() -> None:
    rec = _Recorder()
    rec.fail = True
    sink = LoopBatchingSink(rec)

    async def lookup() -> None:
        await asyncio.gather(*(asyncio.wrap_future(sink.submit(e)) for e in _events(2)))

    with pytest.raises(AuditWriteError):
        asyncio.run(lookup())


def test_the_sink_off_a_loop_is_plain_submit() -> None:
    rec = _Recorder()
    assert LoopBatchingSink(rec).submit(_events(1)[0]).result(0) == 0
    assert rec.singles == 1 and not rec.groups


def test_the_sink_on_a_real_log_makes_every_entry_durable_before_resolving(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        sink = LoopBatchingSink(log)

        async def run() -> list[int]:
            ids = await asyncio.gather(*(asyncio.wrap_future(sink.submit(e)) for e in _events(6)))
            with sqlite3.connect(path) as other:
                (count,) = other.execute("SELECT count(*) FROM entries").fetchone()
            assert count == 6  # resolved only once on disk
            return list(ids)

        assert asyncio.run(run()) == [1, 2, 3, 4, 5, 6]
    assert verify_log(path).ok


def test_the_sink_mixes_groups_and_single_events_in_one_turn_and_gives_each_its_ids() -> None:
    rec = _Recorder()
    sink = LoopBatchingSink(rec)

    async def turn() -> tuple[list[int], int, list[int], list[int]]:
        a = sink.submit_many(_events(3, lookup="A"))
        b = sink.submit(_events(1, lookup="B")[0])
        c = sink.submit_many(_events(2, lookup="C"))
        empty = sink.submit_many([])
        return (await asyncio.wrap_future(a), await asyncio.wrap_future(b),
                await asyncio.wrap_future(c), await asyncio.wrap_future(empty))

    assert asyncio.run(turn()) == ([1, 2, 3], 4, [5, 6], [])
    assert len(rec.groups) == 1  # one hand-off to the writer for the whole turn


def test_a_failed_group_fails_every_submit_many_caller_closed() -> None:
    rec = _Recorder()
    rec.fail = True
    sink = LoopBatchingSink(rec)

    async def lookup() -> None:
        await asyncio.wrap_future(sink.submit_many(_events(3)))

    with pytest.raises(AuditWriteError):
        asyncio.run(lookup())
