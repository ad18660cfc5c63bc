"""The SQLite audit store writes a group whole or not at all, person index included."""

import json
import sqlite3
from pathlib import Path

import pytest

from audit.chain import GENESIS
from audit.store import SqliteAuditStore, StoredEntry


def _entry(i: int, *pseudonyms: str) -> StoredEntry:
    personal = json.dumps({"subject_pseudonyms": list(pseudonyms)}) if pseudonyms else None
    return StoredEntry(i, f'{{"kind":"query_sent","n":{i}}}', personal, None, GENESIS,
                       i.to_bytes(32, "big"))


def test_a_group_larger_than_one_insert_is_stored_whole(tmp_path: Path) -> None:
    store = SqliteAuditStore.create_or_open(tmp_path / "log.sqlite", "broker")
    rows = [_entry(i, f"p{i}", f"q{i % 7}") for i in range(1, 1202)]  # > 2 chunks
    store.append(rows, None)
    assert store.count() == 1201
    assert [e.id for e in store.entries()] == list(range(1, 1202))
    assert store.entry(1201) == rows[-1]
    assert store.entry_ids_for(["p777"]) == [777]
    assert len(store.entry_ids_for(["q0"])) == 1201 // 7
    store.close()


def test_the_person_index_holds_what_each_personal_part_names(tmp_path: Path) -> None:
    store = SqliteAuditStore.create_or_open(tmp_path / "log.sqlite", "broker")
    store.append([_entry(1, "a", "b"), _entry(2), _entry(3, "b")], None)  # one statement
    detail_only = StoredEntry(4, '{"kind":"lookup_completed"}', '{"detail":{"x":"y"}}', None,
                              GENESIS, b"\x04" * 32)
    store.append([detail_only], None)
    assert list(store.pseudonym_rows()) == [(1, "a"), (1, "b"), (3, "b")]
    store.close()


@pytest.mark.parametrize("size", [3, 900], ids=["one statement", "a transaction of chunks"])
def test_a_failed_group_leaves_nothing(tmp_path: Path, size: int) -> None:
    store = SqliteAuditStore.create_or_open(tmp_path / "log.sqlite", "broker")
    store.append([_entry(1)], None)
    # id 1 again, last: refused, and the rows (and index rows) before it are not kept
    rows = [_entry(i, f"p{i}") for i in range(2, size)] + [_entry(1)]
    with pytest.raises(sqlite3.IntegrityError):
        store.append(rows, None)
    assert store.count() == 1
    assert list(store.pseudonym_rows()) == []
    store.close()


def test_a_log_from_before_the_index_trigger_gets_it_when_opened_for_writing(
        tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    store = SqliteAuditStore.create_or_open(path, "broker")
    store.append([_entry(1, "a")], None)
    # as an older version left it: no trigger, and no schema version
    store.conn.execute("DROP TRIGGER entries_index_subjects")
    store.conn.execute("PRAGMA user_version = 0")
    store.close()
    store = SqliteAuditStore.create_or_open(path, "broker")
    store.append([_entry(2, "b")], None)
    assert list(store.pseudonym_rows()) == [(1, "a"), (2, "b")]
    store.close()
