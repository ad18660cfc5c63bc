"""The SQLite audit store writes a large group in chunks, every row and pseudonym intact."""

import sqlite3
from pathlib import Path

import pytest

from mash.audit.chain import GENESIS
from mash.audit.store import SqliteAuditStore, StoredEntry


def _entry(i: int) -> StoredEntry:
    return StoredEntry(i, f'{{"kind":"query_sent","n":{i}}}', None, None, GENESIS,
                       i.to_bytes(32, "big"))


def test_a_group_larger_than_one_insert_is_stored_whole(tmp_path: Path) -> None:
    store = SqliteAuditStore.create_or_open(tmp_path / "log.sqlite", "broker")
    rows = [(_entry(i), (f"p{i}", f"q{i % 7}")) for i in range(1, 1202)]  # > 2 chunks
    store.append(rows, None)
    assert store.count() == 1201
    assert [e.id for e in store.entries()] == list(range(1, 1202))
    assert store.entry(1201) == rows[-1][0]
    assert store.entry_ids_for(["p777"]) == [777]
    assert len(store.entry_ids_for(["q0"])) == 1201 // 7
    store.close()


def test_a_failed_group_leaves_nothing(tmp_path: Path) -> None:
    store = SqliteAuditStore.create_or_open(tmp_path / "log.sqlite", "broker")
    store.append([(_entry(1), ())], None)
    rows = [(_entry(i), ()) for i in range(2, 900)] + [(_entry(1), ())]  # id 1 again: refused
    with pytest.raises(sqlite3.IntegrityError):
        store.append(rows, None)
    assert store.count() == 1
    store.close()
