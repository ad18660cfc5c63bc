"""What an insider who holds a log's file -- and perhaps its checkpoint key -- can do to it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.chain import GENESIS, chain_hash, entry_leaf
from audit.checkpoints import Checkpoint, sign_checkpoint
from audit.events import canonical_json
from audit.merkle import Frontier


def raw(path: Path) -> sqlite3.Connection:
    """A connection to the log with its append-only triggers dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    return conn


def rewrite_and_resign(path: Path, key: Ed25519PrivateKey,
                       edit: Callable[[str], str] = lambda c: c.replace("police", "health")
                       ) -> None:
    """Edit every entry's core, recompute the whole chain and re-sign every checkpoint."""
    conn = raw(path)
    frontier, prev = Frontier(), GENESIS
    sizes = {s for (s,) in conn.execute("SELECT tree_size FROM checkpoints")}
    rows = conn.execute("SELECT id, core, personal_hash FROM entries ORDER BY id").fetchall()
    for entry_id, core, ph in rows:
        core = edit(core)
        leaf = entry_leaf(entry_id, core, ph)
        h = chain_hash(prev, leaf)
        conn.execute("UPDATE entries SET core = ?, prev_hash = ?, entry_hash = ? WHERE id = ?",
                     (core, prev, h, entry_id))
        prev = h
        frontier.append(leaf)
        if frontier.size in sizes:
            ts = conn.execute("SELECT timestamp FROM checkpoints WHERE tree_size = ?",
                              (frontier.size,)).fetchone()[0]
            owner = conn.execute("SELECT value FROM meta WHERE key = 'owner'").fetchone()[0]
            cp = sign_checkpoint(Checkpoint(owner, frontier.size, frontier.root(), ts), key)
            conn.execute("UPDATE checkpoints SET root_hash = ?, key_id = ?, signature = ?, "
                         "frontier = ? WHERE tree_size = ?",
                         (cp.root_hash, cp.key_id, cp.signature,
                          json.dumps(frontier.to_hex()), frontier.size))
    conn.close()


def cut_tail(path: Path, keep: int) -> None:
    """Delete every entry after `keep`, and every checkpoint that covers one of them."""
    conn = raw(path)
    conn.execute("DELETE FROM entries WHERE id > ?", (keep,))
    conn.execute("DELETE FROM subjects WHERE entry_id > ?", (keep,))
    conn.execute("DELETE FROM checkpoints WHERE tree_size > ?", (keep,))
    conn.close()


def append_unsigned(path: Path, core: dict[str, object]) -> int:
    """Append an entry with a correct chain hash but no checkpoint (no key needed)."""
    conn = raw(path)
    last_id, last_hash = conn.execute(
        "SELECT id, entry_hash FROM entries ORDER BY id DESC LIMIT 1").fetchone()
    entry_id = int(last_id) + 1
    text = canonical_json(core)
    h = chain_hash(bytes(last_hash), entry_leaf(entry_id, text, None))
    conn.execute("INSERT INTO entries VALUES (?, ?, NULL, NULL, ?, ?)",
                 (entry_id, text, bytes(last_hash), h))
    conn.close()
    return entry_id


def strip_personal(path: Path, entry_id: int) -> None:
    """Remove an entry's personal part (and its person index rows), keeping its hash."""
    conn = raw(path)
    conn.execute("UPDATE entries SET personal = NULL WHERE id = ?", (entry_id,))
    conn.execute("DELETE FROM subjects WHERE entry_id = ?", (entry_id,))
    conn.close()
