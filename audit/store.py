"""Where audit entries live: a small storage interface and its SQLite implementation.

The writer (`audit.log`) and the readers (verify, search, SAR) only use
`AuditStore`; a PostgreSQL store for scale-out is a new class, not a rewrite.

SQLite layout (one file per log owner, WAL mode, synchronous=FULL; its schema version in
`PRAGMA user_version`, brought up to date by `MIGRATIONS` when a log is opened for writing):

* `meta(key, value)` -- format version and the owner's name.
* `entries(id, core, personal, personal_hash, prev_hash, entry_hash)` -- ids are
  contiguous from 1; `core`/`personal` are canonical JSON; triggers refuse
  deletes and edits (only `personal` may be set to NULL, by retention).
* `subjects(pseudonym, entry_id)` -- an index of the keyed pseudonyms in each
  entry's personal part, so finding one person is one B-tree lookup (a trigger
  fills it from the personal part as each entry is inserted).
* `checkpoints(tree_size, root_hash, timestamp, key_id, signature, frontier)`.

Search columns (referral, actor, time) are SQLite expression indexes on
`json_extract(core, ...)`, and the keys recovery pairs on (lookup, query) partial ones:
no second copy of the data to keep honest.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

import sqlite_utils

from audit.checkpoints import Checkpoint
from audit.errors import AuditFormatError
from audit.events import INTENT_CLOSERS
from mash.canonical import JsonValue
from mash.migrations import Migration, SchemaError, migrate, schema_version
from mash.sqlvalues import SqlValue

FORMAT = "mash-audit-v1"
#: The `meta` key naming the first entry whose parts are RFC 8785 canonical JSON
#: (`mash.canonical`). Entries before it hold Python's sorted, compact `json` text (the
#: earlier entry encoding: `12.0` where RFC 8785 writes `12`). Hashes cover the stored
#: bytes, so entries of both encodings verify alike; this says which is which.
ENTRY_JSON_RFC8785_FROM = "entry_json_rfc8785_from"

#: Core fields with an expression index: the ones IG searches start from (a referral, a
#: requester, a date range). Every index is one more B-tree entry written and fsync'd for
#: each of the ~14 entries of a lookup, on the lookup's critical path, so low-cardinality
#: fields (kind, agency, decision, purpose) are not indexed: they narrow a search that one
#: of these (or the person index) has started. Nor is `lookup_id`: every entry of a lookup
#: carries its referral, so a lookup's entries are found through the referral index
#: (`SearchFilter.of_lookup`, as the SAR and the review queue use).
INDEXED_FIELDS: tuple[str, ...] = ("referral_id", "actor_id", "ts")
#: Keys that pair an intent with its outcome (recovery) but that no search starts from,
#: with the kinds of entry that carry them: a partial index over those kinds only (two
#: entries per lookup for `lookup_id`, not fourteen). (A broker's log has four random
#: `query_id`s per lookup in `query_sent` entries; indexing them cost a quarter of each
#: commit's CPU.)
PAIRING_INDEXES: dict[str, tuple[str, ...]] = {
    key: tuple(sorted({intent.value, *(c.value for c in closers)}))
    for intent, (key, closers) in INTENT_CLOSERS.items() if key not in INDEXED_FIELDS}


def _kind_in(kinds: Sequence[str], alias: str = "") -> str:
    """`kind IN (...)` as a partial index's WHERE -- and, spelt identically, a query's term,
    which is how SQLite knows the query may use that index."""
    values = ", ".join("'" + k + "'" for k in kinds)  # our own vocabulary (EventKind values)
    return f"json_extract({alias}core, '$.kind') IN ({values})"

def _mark_rfc8785_from(conn: sqlite3.Connection) -> None:
    """Record the first entry written in RFC 8785 canonical JSON: the next one."""
    (last,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM entries").fetchone()
    conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)",
                 (ENTRY_JSON_RFC8785_FROM, str(last + 1)))


#: The audit log's schema, oldest first (see `mash.migrations`). A log made before logs
#: carried a version (user_version 0) goes through every step; each step keeps what a log
#: already holds of it, so such a log is adopted whatever its shape.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "entries, the person index, checkpoints; append-only triggers", """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS entries (
            id INTEGER PRIMARY KEY,
            core TEXT NOT NULL,
            personal TEXT,
            personal_hash BLOB,
            prev_hash BLOB NOT NULL,
            entry_hash BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS subjects (
            pseudonym TEXT NOT NULL,
            entry_id INTEGER NOT NULL,
            PRIMARY KEY (pseudonym, entry_id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS checkpoints (
            tree_size INTEGER PRIMARY KEY,
            root_hash BLOB NOT NULL,
            timestamp TEXT NOT NULL,
            key_id TEXT,
            signature BLOB,
            frontier TEXT NOT NULL
        );
        CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS entries_no_edit
        BEFORE UPDATE OF id, core, personal_hash, prev_hash, entry_hash ON entries
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS entries_redact_only BEFORE UPDATE OF personal ON entries
        WHEN NEW.personal IS NOT NULL
        BEGIN SELECT RAISE(ABORT, 'audit log personal part may only be redacted'); END;
        CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS checkpoints_no_edit BEFORE UPDATE ON checkpoints
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    """),
    # The person index is filled from each entry's own personal part, inside the INSERT
    # itself: one statement writes a group (see `SqliteAuditStore.append`), and the index
    # can only hold the pseudonyms the hashed personal part names. (Rows the writer put
    # there itself before stay.)
    Migration(2, "the person index filled by a trigger on each insert", """
        CREATE TRIGGER IF NOT EXISTS entries_index_subjects AFTER INSERT ON entries
        WHEN NEW.personal IS NOT NULL
        BEGIN INSERT OR IGNORE INTO subjects
              SELECT value, NEW.id FROM json_each(NEW.personal, '$.subject_pseudonyms'); END;
    """),
    # Search starts from a referral, a requester or a time (`INDEXED_FIELDS`); intents pair
    # with their outcomes on lookup_id and query_id over the kinds that carry those keys
    # only (`PAIRING_INDEXES`: partial, spelt as `_kind_in` spells a query's term). Full
    # indexes on kind, agency, lookup_id and query_id cost each commit more than they saved.
    Migration(3, "search indexes on referral, requester and time; partial pairing indexes", """
        CREATE INDEX IF NOT EXISTS entries_referral_id
            ON entries(json_extract(core, '$.referral_id'));
        CREATE INDEX IF NOT EXISTS entries_actor_id ON entries(json_extract(core, '$.actor_id'));
        CREATE INDEX IF NOT EXISTS entries_ts ON entries(json_extract(core, '$.ts'));
        DROP INDEX IF EXISTS entries_kind;
        DROP INDEX IF EXISTS entries_agency;
        DROP INDEX IF EXISTS entries_lookup_id;
        DROP INDEX IF EXISTS entries_query_id;
        CREATE INDEX IF NOT EXISTS entries_pair_lookup_id
            ON entries(json_extract(core, '$.lookup_id'))
            WHERE json_extract(core, '$.kind') IN ('lookup_completed', 'lookup_requested',
                                                   'outcome_unknown');
        CREATE INDEX IF NOT EXISTS entries_pair_query_id
            ON entries(json_extract(core, '$.query_id'))
            WHERE json_extract(core, '$.kind') IN ('disclosure_sent', 'outcome_unknown',
                                                   'query_received', 'query_rejected');
    """),
    # Entries written from here on hold RFC 8785 canonical JSON; earlier ones keep theirs
    # (hashes cover the stored bytes, so both verify).
    Migration(4, "the first entry in RFC 8785 canonical JSON, recorded", _mark_rfc8785_from),
)


_SELECT = "SELECT id, core, personal, personal_hash, prev_hash, entry_hash FROM entries"


class StoredEntry(NamedTuple):
    """One entry as stored: canonical texts and hashes (a NamedTuple: cheap on the hot path)."""

    id: int
    core: str
    personal: str | None
    personal_hash: bytes | None
    prev_hash: bytes
    entry_hash: bytes

    def core_dict(self) -> dict[str, JsonValue]:
        """The core part parsed."""
        parsed: dict[str, JsonValue] = json.loads(self.core)
        return parsed

    def personal_dict(self) -> dict[str, JsonValue] | None:
        """The personal part parsed (None if there was none or it was redacted)."""
        if self.personal is None:
            return None
        parsed: dict[str, JsonValue] = json.loads(self.personal)
        return parsed


class Unclosed(NamedTuple):
    """An intent entry that no outcome pairs with (recovery marks it `outcome_unknown`)."""

    entry_id: int
    #: the value of the key it pairs on (its lookup_id or query_id)
    key_value: str
    referral_id: str | None
    agency: str | None


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as stored, with the Merkle frontier at its size (to resume appending)."""

    checkpoint: Checkpoint
    frontier: tuple[str, ...]


class AuditStore(Protocol):
    """The storage one log needs. Appends are all-or-nothing and durable on return.

    `SqliteAuditStore` implements it; a PostgreSQL store for scale-out would too
    (one table per log owner, `SERIALIZABLE` appends, the same canonical texts
    and hashes, so `verify_log` and proofs are unchanged).
    """

    def owner(self) -> str:
        """The name of the log's owner (`broker`, `adapter-police`, ...)."""
        ...

    def append(self, entries: Sequence[StoredEntry], checkpoint: StoredCheckpoint | None) -> None:
        """Durably add entries and an optional checkpoint, all or nothing.

        The person index gets the pseudonyms each entry's personal part names.
        """
        ...

    def entries(self, start: int = 1, stop: int | None = None) -> Iterator[StoredEntry]:
        """Entries with start <= id (< stop), in id order."""
        ...

    def entry(self, entry_id: int) -> StoredEntry | None:
        """One entry, or None."""
        ...

    def max_id(self) -> int:
        """The highest entry id (0 when empty)."""
        ...

    def checkpoints(self) -> list[StoredCheckpoint]:
        """All checkpoints, by tree size."""
        ...

    def entries_where(self, where: str, params: Sequence[SqlValue]) -> Iterator[StoredEntry]:
        """Entries matching a condition built by `audit.query`, in id order."""
        ...

    def unclosed(self, intent: str, key: str, closers: Sequence[str]) -> list[Unclosed]:
        """The intents that no closing entry pairs with, by id."""
        ...

    def redact(self, entry_ids: Sequence[int]) -> None:
        """Drop the personal part (and its pseudonym index rows) of these entries."""
        ...

    def close(self) -> None:
        """Release the storage."""
        ...


#: Rows per multi-row INSERT (at most 6 values each: well under SQLite's 32,766 variables).
_ROWS_PER_INSERT = 500


@functools.lru_cache(maxsize=256)
def _insert_sql(head: str, width: int, rows: int) -> str:
    """`head` followed by `rows` groups of `width` placeholders."""
    group = "(" + ",".join("?" * width) + ")"
    return head + ",".join([group] * rows)


def _insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[SqlValue]]) -> None:
    """INSERT `rows` with one multi-row statement per chunk, not `executemany`.

    Each statement step releases and re-takes the GIL, and on a busy event loop (the
    broker's) every re-take waits.
    """
    for at in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[at:at + _ROWS_PER_INSERT]
        conn.execute(_insert_sql(head, len(chunk[0]), len(chunk)),
                     [v for row in chunk for v in row])


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                               isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    # A locked database must fail the write quickly (the caller fails closed), not hang.
    conn.execute("PRAGMA busy_timeout = 2000")
    return conn


class SqliteAuditStore:
    """`AuditStore` on one SQLite file (sqlite-utils for schema and queries)."""

    def __init__(self, conn: sqlite3.Connection, owner: str) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._owner = owner

    @classmethod
    def create_or_open(cls, path: Path, owner: str) -> SqliteAuditStore:
        """Open the log at `path` for writing, creating it for `owner` if new."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path, readonly=False)
        # WAL + FULL: every commit is fsynced to the WAL, so a returned entry id is durable.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        try:
            migrate(conn, MIGRATIONS, store=f"audit log {path.name}")
        except SchemaError as exc:
            conn.close()
            raise AuditFormatError(str(exc)) from None
        except BaseException:
            conn.close()
            raise
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None:
                conn.execute("INSERT INTO meta VALUES ('format', ?), ('owner', ?)", (FORMAT, owner))
            elif row[0] != FORMAT:
                raise AuditFormatError(f"{path.name}: unknown format {row[0]!r}")
            else:
                stored = conn.execute("SELECT value FROM meta WHERE key = 'owner'").fetchone()
                if stored is None or stored[0] != owner:
                    raise AuditFormatError(f"{path.name} belongs to {stored and stored[0]!r}, "
                                           f"not {owner!r}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        return cls(conn, owner)

    @classmethod
    def open_readonly(cls, path: Path) -> SqliteAuditStore:
        """Open an existing log for reading only (verify, search, SAR)."""
        if not path.is_file():
            raise AuditFormatError(f"{path.name}: no such audit log")
        conn = _connect(path, readonly=True)
        try:
            version = schema_version(conn)
            fmt = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            owner = conn.execute("SELECT value FROM meta WHERE key = 'owner'").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise AuditFormatError(f"{path.name}: not an audit log ({exc})") from None
        if fmt is None or fmt[0] != FORMAT or owner is None:
            conn.close()
            raise AuditFormatError(f"{path.name}: not an audit log of format {FORMAT}")
        if version > len(MIGRATIONS):
            conn.close()
            raise AuditFormatError(f"{path.name}: schema version {version} is newer than this "
                                   f"mash-hub understands ({len(MIGRATIONS)}); upgrade mash-hub "
                                   "to read it")
        return cls(conn, str(owner[0]))

    def owner(self) -> str:
        """The name of the log's owner."""
        return self._owner

    def append(self, entries: Sequence[StoredEntry], checkpoint: StoredCheckpoint | None) -> None:
        """Add entries and an optional checkpoint in one durable transaction.

        The usual group (a lookup's intent or outcome, no checkpoint due) is ONE
        statement in autocommit mode: SQLite makes a single statement atomic and, with
        synchronous=FULL, durable when it returns. `BEGIN`, `INSERT`, `INSERT` and `COMMIT`
        each let go of the GIL and must take it back, and on the broker every take-back
        waits for the busy event loop (up to `sys.getswitchinterval()`, 5 ms): one
        statement is one wait, not four. (The person index is filled by a trigger.)
        """
        conn = self.conn
        head = "INSERT INTO entries (id, core, personal, personal_hash, prev_hash, entry_hash)" \
               " VALUES "
        if checkpoint is None and len(entries) <= _ROWS_PER_INSERT:
            _insert_rows(conn, head, entries)
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            _insert_rows(conn, head, entries)
            if checkpoint is not None:
                cp = checkpoint.checkpoint
                conn.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?)",
                             (cp.tree_size, cp.root_hash, cp.timestamp, cp.key_id, cp.signature,
                              json.dumps(list(checkpoint.frontier))))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def entries(self, start: int = 1, stop: int | None = None) -> Iterator[StoredEntry]:
        """Entries with start <= id (< stop), in id order."""
        sql = _SELECT + " WHERE id >= ?" + (" AND id < ?" if stop is not None else "") + \
            " ORDER BY id"
        params: tuple[int, ...] = (start,) if stop is None else (start, stop)
        for row in self.conn.execute(sql, params):
            yield StoredEntry(*row)

    def entry(self, entry_id: int) -> StoredEntry | None:
        """One entry, or None."""
        row = self.conn.execute(_SELECT + " WHERE id = ?", (entry_id,)).fetchone()
        return StoredEntry(*row) if row else None

    def entries_where(self, where: str, params: Sequence[SqlValue]) -> Iterator[StoredEntry]:
        """Entries matching a SQL condition on `entries` (used by search), in id order."""
        # `where` is built by our own query code from fixed column names and `?` placeholders.
        sql = f"{_SELECT} WHERE {where} ORDER BY id"  # noqa: S608
        for row in self.conn.execute(sql, tuple(params)):
            yield StoredEntry(*row)

    def count(self) -> int:
        """The number of entries."""
        row = self.conn.execute("SELECT count(*) FROM entries").fetchone()
        return int(row[0])

    def max_id(self) -> int:
        """The highest entry id (0 when empty)."""
        row = self.conn.execute("SELECT max(id) FROM entries").fetchone()
        return int(row[0] or 0)

    def checkpoints(self) -> list[StoredCheckpoint]:
        """All checkpoints, by tree size."""
        out = []
        for size, root, ts, kid, sig, frontier in self.conn.execute(
                "SELECT tree_size, root_hash, timestamp, key_id, signature, frontier"
                " FROM checkpoints ORDER BY tree_size"):
            cp = Checkpoint(self._owner, int(size), bytes(root), str(ts), kid,
                            bytes(sig) if sig is not None else None)
            out.append(StoredCheckpoint(cp, tuple(json.loads(frontier))))
        return out

    def pseudonym_rows(self) -> Iterator[tuple[int, str]]:
        """(entry id, pseudonym) rows of the subject index, by entry id."""
        yield from self.conn.execute(
            "SELECT entry_id, pseudonym FROM subjects ORDER BY entry_id, pseudonym")

    def entry_ids_for(self, pseudonyms: Sequence[str]) -> list[int]:
        """Ids of entries naming any of these pseudonyms."""
        if not pseudonyms:
            return []
        marks = ",".join("?" * len(pseudonyms))
        rows = self.conn.execute(
            f"SELECT DISTINCT entry_id FROM subjects WHERE pseudonym IN ({marks})"  # noqa: S608
            " ORDER BY entry_id", tuple(pseudonyms))
        return [int(r[0]) for r in rows]

    def unclosed(self, intent: str, key: str, closers: Sequence[str]) -> list[Unclosed]:
        """The `intent` entries no `closers` entry pairs with, by id.

        Entries pair on the core field `key` (e.g. `lookup_id`), which must be indexed.
        """
        if key not in INDEXED_FIELDS and key not in PAIRING_INDEXES or not closers:
            raise ValueError(f"cannot pair entries on {key!r}")
        marks = ",".join("?" * len(closers))
        # Restating a partial index's own condition lets SQLite use it (it only narrows:
        # the intent and its closers are among those kinds).
        kinds = PAIRING_INDEXES.get(key)
        narrow = (f" AND {_kind_in(kinds, 'i.')}", f" AND {_kind_in(kinds, 'o.')}") if kinds \
            else ("", "")
        # `key` is an indexed or pairing field (checked above); values go in as parameters.
        sql = (f"SELECT i.id, json_extract(i.core, '$.{key}'),"  # noqa: S608
               " json_extract(i.core, '$.referral_id'), json_extract(i.core, '$.agency')"
               f" FROM entries i WHERE json_extract(i.core, '$.kind') = ?{narrow[0]}"
               f" AND json_extract(i.core, '$.{key}') IS NOT NULL AND NOT EXISTS ("
               f" SELECT 1 FROM entries o WHERE json_extract(o.core, '$.{key}') ="
               f" json_extract(i.core, '$.{key}'){narrow[1]}"
               f" AND json_extract(o.core, '$.kind') IN ({marks}))"
               " ORDER BY i.id")
        return [Unclosed(int(i), str(value), referral, agency)
                for i, value, referral, agency in self.conn.execute(sql, (intent, *closers))]

    def redact(self, entry_ids: Sequence[int]) -> None:
        """Drop the personal part and pseudonym index rows of these entries (one transaction)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("UPDATE entries SET personal = NULL WHERE id = ?",
                             [(i,) for i in entry_ids])
            conn.executemany("DELETE FROM subjects WHERE entry_id = ?", [(i,) for i in entry_ids])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> SqliteAuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
