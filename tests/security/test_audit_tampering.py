"""One test per way of tampering with an audit log file on disk (threat: an insider with
write access to the file tries to hide or alter who saw what)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import GENESIS, chain_hash, entry_leaf
from audit.checkpoints import sign_checkpoint
from audit.merkle import Frontier
from audit.store import SqliteAuditStore
from audit.verify import verify_log
from tests.unit.audit_helpers import write_log

N = 30


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def log_path(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "broker.sqlite"
    write_log(path, N, key=key, checkpoint_every=10)
    assert verify_log(path, checkpoint_public_key=key.public_key()).ok
    return path


@contextmanager
def attacker(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw connection with the append-only triggers dropped, as an attacker would."""
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    try:
        yield conn
    finally:
        conn.close()


def test_untouched_log_verifies(log_path: Path, key: Ed25519PrivateKey) -> None:
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert report.ok and report.entries == N and report.unanchored == 0


def test_triggers_refuse_edits_and_deletes_through_sql(log_path: Path) -> None:
    conn = sqlite3.connect(log_path, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("DELETE FROM entries WHERE id = 3")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE entries SET core = '{}' WHERE id = 3")
    conn.close()


def test_edited_entry_is_named(log_path: Path, key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute("UPDATE entries SET core = replace(core, '\"agency\":\"police\"', "
                  "'\"agency\":\"health\"') WHERE id = 17")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and report.first_bad_entry == 17 and "edited" in report.problem


def test_edited_personal_part_is_named(log_path: Path, key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute("UPDATE entries SET personal = replace(personal, 'p1', 'p9') WHERE id = 2")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and report.first_bad_entry == 2


def test_deleted_entry_is_named(log_path: Path, key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute("DELETE FROM entries WHERE id = 12")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and report.first_bad_entry == 12 and "deleted" in report.problem


def test_deleted_and_renumbered_entries_are_detected(log_path: Path,
                                                     key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute("DELETE FROM entries WHERE id = 12")
        c.execute("UPDATE entries SET id = id - 1 WHERE id > 12")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and report.first_bad_entry == 12


def test_reordered_entries_are_named(log_path: Path, key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute("UPDATE entries SET id = -1 WHERE id = 8")
        c.execute("UPDATE entries SET id = 8 WHERE id = 9")
        c.execute("UPDATE entries SET id = 9 WHERE id = -1")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and report.first_bad_entry == 8


def test_truncated_tail_is_detected_by_the_checkpoint(log_path: Path,
                                                      key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute(f"DELETE FROM entries WHERE id > {N - 4}")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and "truncated" in report.problem
    assert report.first_bad_entry == N - 3


def test_truncation_that_drops_checkpoints_too_is_caught_by_a_published_checkpoint(
        log_path: Path, key: Ed25519PrivateKey) -> None:
    store = SqliteAuditStore.open_readonly(log_path)
    published = store.checkpoints()[-1].checkpoint  # what the auditor kept
    store.close()
    with attacker(log_path) as c:
        c.execute("DELETE FROM entries WHERE id > 20")
        c.execute("DELETE FROM subjects WHERE entry_id > 20")
        c.execute("DELETE FROM checkpoints WHERE tree_size > 20")
    assert verify_log(log_path, checkpoint_public_key=key.public_key()).ok  # locally consistent
    report = verify_log(log_path, checkpoint_public_key=key.public_key(),
                        trusted_checkpoint=published)
    assert not report.ok and "truncated" in report.problem


def _rewrite_chain(c: sqlite3.Connection) -> Frontier:
    """Recompute every hash after an edit, as an attacker who knows the format would."""
    prev, frontier = GENESIS, Frontier()
    rows = c.execute("SELECT id, core, personal_hash FROM entries ORDER BY id").fetchall()
    for entry_id, core, ph in rows:
        leaf = entry_leaf(entry_id, core, ph)
        h = chain_hash(prev, leaf)
        c.execute("UPDATE entries SET prev_hash = ?, entry_hash = ? WHERE id = ?",
                  (prev, h, entry_id))
        frontier.append(leaf)
        prev = h
    return frontier


def test_rewritten_chain_is_caught_by_the_signed_checkpoints(log_path: Path,
                                                             key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute("UPDATE entries SET core = replace(core, 'police', 'health') WHERE id = 15")
        _rewrite_chain(c)
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and "checkpoint" in report.problem
    assert report.first_bad_entry == 11  # the first entry after the last checkpoint still good


def test_resigned_checkpoints_with_another_key_are_refused(log_path: Path,
                                                          key: Ed25519PrivateKey) -> None:
    forger = Ed25519PrivateKey.generate()
    store = SqliteAuditStore.open_readonly(log_path)
    cps = [sc.checkpoint for sc in store.checkpoints()]
    store.close()
    with attacker(log_path) as c:
        c.execute("UPDATE entries SET core = replace(core, 'police', 'health') WHERE id = 15")
        frontier = _rewrite_chain(c)
        # Re-sign the final checkpoint over the rewritten tree with the forger's key.
        last = cps[-1]
        forged = sign_checkpoint(type(last)(last.log, last.tree_size, frontier.root(),
                                            last.timestamp), forger)
        c.execute("DELETE FROM checkpoints")
        c.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, '[]')",
                  (forged.tree_size, forged.root_hash, forged.timestamp, forged.key_id,
                   forged.signature))
    assert verify_log(log_path).ok  # without the published key this cannot be told apart...
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and "not signed by a published" in report.problem


def test_personal_part_removed_without_redaction_record(log_path: Path,
                                                        key: Ed25519PrivateKey) -> None:
    with attacker(log_path) as c:
        c.execute("UPDATE entries SET personal = NULL WHERE id = 6")
        c.execute("DELETE FROM subjects WHERE entry_id = 6")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and report.first_bad_entry == 6 and "redaction" in report.problem


def test_person_removed_from_the_search_index(log_path: Path, key: Ed25519PrivateKey) -> None:
    # Hiding a person from search and SAR without touching the entries themselves.
    with attacker(log_path) as c:
        c.execute("DELETE FROM subjects WHERE entry_id = 9")
    report = verify_log(log_path, checkpoint_public_key=key.public_key())
    assert not report.ok and report.first_bad_entry == 9 and "index" in report.problem


def test_not_an_audit_log(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    report = verify_log(path)
    assert not report.ok and "not an audit log" in report.problem
