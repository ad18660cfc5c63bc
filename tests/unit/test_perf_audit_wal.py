"""The background WAL checkpointer: commits never run SQLite's checkpoint, the file stays whole."""

import sqlite3
from pathlib import Path

import pytest

from mash.audit.events import AuditEvent, EventKind
from mash.audit.log import AuditLog, verify_log
from mash.audit.walcheckpoint import SAFETY_NET_PAGES, WalCheckpointer


def _fill(log: AuditLog, n: int) -> None:
    log.append_many([AuditEvent(kind=EventKind.QUERY_SENT, query_id=f"Q{i}") for i in range(n)])


def test_the_writer_leaves_checkpoints_to_the_background_up_to_a_safety_net(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        (pages,) = log._store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()
    assert pages == SAFETY_NET_PAGES


def test_without_the_background_checkpointer_sqlite_defaults_apply(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker", background_wal=False) as log:
        (pages,) = log._store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()
    assert pages == 1000


def test_a_checkpoint_copies_every_committed_frame_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker", background_wal=False) as log:
        log._store.conn.execute("PRAGMA wal_autocheckpoint = 0")
        _fill(log, 50)
        cp = WalCheckpointer(path, interval_s=3600)  # only explicit checkpoints here
        try:
            busy, frames, copied = cp.checkpoint()
        finally:
            cp.close()
        assert busy == 0 and frames > 0 and copied == frames
        _fill(log, 5)  # the writer goes on after a checkpoint
    assert verify_log(path).ok and verify_log(path).entries == 55


def test_the_background_thread_checkpoints_without_being_asked(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    with AuditLog.open(path, owner="broker") as log:
        _fill(log, 30)
        assert log._wal is not None
        log._wal.nudge()
        other = sqlite3.connect(path)
        try:
            # Wait (bounded) for the thread's checkpoint; a final passive one then has nothing left.
            for _ in range(200):
                log._wal._thread.join(0.01)
                busy, frames, copied = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames == copied:
                    break
            assert frames == copied
        finally:
            other.close()
    assert verify_log(path).entries == 30


def test_interval_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        WalCheckpointer(tmp_path / "x.sqlite", interval_s=0)
