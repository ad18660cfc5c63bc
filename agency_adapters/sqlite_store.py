"""The demo agency store: one SQLite file per agency, implementing `AgencyBackend`.

Tables: `people` (one row per person as the agency holds them), `records` (one
row per record, in one data category), `blocking` (key -> person_id, a
clustered WITHOUT ROWID index; see `matching.blocking`) and `meta`.
`StoreWriter` builds a store in bulk (indexes created after the inserts);
`SqliteAgencyStore` opens it read-only for serving, one connection per thread.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import sqlite_utils

from agency_adapters.backend import (
    BackendState,
    Person,
    QueryIdentifiers,
    Record,
    StoreNotFound,
    StoreUnreadable,
)
from agency_adapters.matching.blocking import person_keys, query_keys
from agency_adapters.matching.frequencies import NameCounter, NameFrequencies
from agency_adapters.matching.scoring import compare
from mash.migrations import Migration, SchemaError, migrate, schema_version
from mash.vocab import Category

if TYPE_CHECKING:
    from agency_adapters.config import AdapterConfig

#: The store's shape in `meta`, as mash-hub wrote it before `PRAGMA user_version` (and as
#: earlier versions still read it): "1" had no `people.linked_to`.
SCHEMA_VERSION = "2"
READABLE_SCHEMAS = ("1", "2")
#: At most this many people are read for one blocking key (a degenerate key cannot cause a scan).
PER_KEY_LIMIT = 200
#: At most this many candidates are scored for one query.
MAX_CANDIDATES = 600

_PEOPLE_COLUMNS = ("person_id", "given_name", "family_name", "other_names", "date_of_birth",
                   "sex", "postcode", "address", "nhs_number", "upn", "linked_to")
# SQL built only from the constant column list and placeholder counts; values are always bound.
_SELECT_PEOPLE = f"SELECT {', '.join(_PEOPLE_COLUMNS)} FROM people"  # noqa: S608
_INSERT_PERSON = f"INSERT INTO people VALUES ({','.join('?' * len(_PEOPLE_COLUMNS))})"  # noqa: S608


#: Blocking keys read by one compound statement (SQLite allows up to 500 terms).
_KEYS_PER_STATEMENT = 64


@functools.lru_cache(maxsize=_KEYS_PER_STATEMENT)
def _blocking_sql(n: int) -> str:
    """`n` per-key bounded reads of the blocking index, concatenated in key order."""
    one = "SELECT person_id FROM (SELECT person_id FROM blocking WHERE key = ? LIMIT ?)"
    return " UNION ALL ".join([one] * n)


@functools.lru_cache(maxsize=_KEYS_PER_STATEMENT)
def _candidate_people_sql(n: int) -> str:
    """The people found by `n` per-key reads, at most MAX_CANDIDATES + 1 of them (one statement).

    The extra row tells the caller that the cap was reached, when which people are kept
    depends on key order and the exact (two-step) read must decide.
    """
    return f"{_SELECT_PEOPLE} WHERE person_id IN ({_blocking_sql(n)}) LIMIT {MAX_CANDIDATES + 1}"


def _person_row(p: Person) -> tuple[str, ...]:
    return (p.person_id, p.given_name, p.family_name, json.dumps(list(p.other_names)),
            p.date_of_birth or "", p.sex, p.postcode, p.address, p.nhs_number, p.upn,
            p.linked_to)


def _row_person(row: tuple[str, ...]) -> Person:
    other = row[3]
    return Person(person_id=row[0], given_name=row[1], family_name=row[2],
                  # most people have no other names: skip the JSON parser for them
                  other_names=tuple(json.loads(other)) if other and other != "[]" else (),
                  date_of_birth=row[4] or None, sex=row[5], postcode=row[6], address=row[7],
                  nhs_number=row[8], upn=row[9], linked_to=row[10])


def _link_column(conn: sqlite3.Connection) -> None:
    """`people.linked_to` ('' for everyone: an older store linked nobody) and its index."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(people)")}
    if "linked_to" not in columns:
        conn.execute("ALTER TABLE people ADD COLUMN linked_to TEXT DEFAULT ''")
    conn.execute("CREATE INDEX IF NOT EXISTS people_by_link ON people (linked_to) "
                 "WHERE linked_to != ''")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION,))


#: The store's schema, oldest first (see `mash.migrations`), run when a store is opened.
#: `StoreWriter` builds a new store in the newest shape directly (indexes after the bulk
#: insert) and stamps it with the newest version; these bring an older file up to it.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "people, records, blocking keys, meta", """
        CREATE TABLE IF NOT EXISTS meta ("key" TEXT PRIMARY KEY, "value" TEXT);
        CREATE TABLE IF NOT EXISTS people ("person_id" TEXT PRIMARY KEY, "given_name" TEXT,
            "family_name" TEXT, "other_names" TEXT, "date_of_birth" TEXT, "sex" TEXT,
            "postcode" TEXT, "address" TEXT, "nhs_number" TEXT, "upn" TEXT);
        CREATE TABLE IF NOT EXISTS records ("record_id" TEXT PRIMARY KEY, "person_id" TEXT,
            "category" TEXT, "occurred_on" TEXT, "summary" TEXT, "attributes" TEXT);
        CREATE TABLE IF NOT EXISTS blocking (key TEXT NOT NULL, person_id TEXT NOT NULL,
            PRIMARY KEY (key, person_id)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS records_by_person ON records (person_id, category);
    """),
    Migration(2, "records of one person linked (people.linked_to)", _link_column),
)


class StoreWriter:
    """Builds a new agency store in bulk; as a context manager, `finish()` indexes and closes."""

    def __init__(self, path: Path, agency: str, *, meta: dict[str, str] | None = None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Build beside the target and rename when finished: a failed or interrupted build
        # never leaves a half-written store where an adapter would open it.
        self._building = path.with_name(f".{path.name}.building")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self._building}{suffix}").unlink(missing_ok=True)
        self.path = path
        self._conn = sqlite3.connect(self._building, isolation_level=None)
        # A bulk build of a file nobody reads yet: durability comes from finishing, not fsync.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=MEMORY",
                       "cache_size=-200000", "locking_mode=EXCLUSIVE"):
            self._conn.execute(f"PRAGMA {pragma}")
        db = sqlite_utils.Database(self._conn)
        db.table("meta").create({"key": str, "value": str}, pk="key")
        db.table("people").create({c: str for c in _PEOPLE_COLUMNS}, pk="person_id")
        db.table("records").create({"record_id": str, "person_id": str, "category": str,
                              "occurred_on": str, "summary": str, "attributes": str},
                             pk="record_id")
        # Clustered on (key, person_id): a blocking lookup is one b-tree range read.
        self._conn.execute("CREATE TABLE blocking (key TEXT NOT NULL, person_id TEXT NOT NULL, "
                           "PRIMARY KEY (key, person_id)) WITHOUT ROWID")
        self._conn.execute("BEGIN")
        entries = {"schema_version": SCHEMA_VERSION, "agency": agency, **(meta or {})}
        self._conn.executemany("INSERT INTO meta VALUES (?, ?)", entries.items())
        self.people = 0
        self.records = 0
        self._names = NameCounter()
        self._links: list[tuple[str, str]] = []  # (record, another record of the same person)
        self.linked = 0  # records found to be another record of someone held

    def add_people(self, people: Iterable[Person]) -> None:
        """Insert people and their blocking keys."""
        batch = list(people)
        self._conn.executemany(_INSERT_PERSON,
                               (_person_row(p) for p in batch))
        self._conn.executemany("INSERT OR IGNORE INTO blocking VALUES (?, ?)",
                               ((k, p.person_id) for p in batch for k in person_keys(p)))
        for p in batch:
            self._names.add(p.given_name, p.family_name, p.postcode)
            if p.linked_to:
                self._links.append((p.person_id, p.linked_to))
        self.people += len(batch)

    def add_records(self, records: Iterable[Record]) -> None:
        """Insert records (each must name a person already added or added later)."""
        batch = [(r.record_id, r.person_id, str(r.category), r.occurred_on, r.summary,
                  json.dumps(dict(r.attributes), sort_keys=True)) for r in records]
        self._conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", batch)
        self.records += len(batch)

    def _link_same_people(self) -> None:
        """Records of one person become one candidate: `people.linked_to` names the person.

        Linked: records the agency's own system links (`Person.linked_to`), and records
        that share a valid NHS number unless their given names or dates of birth
        contradict each other (a sibling's number copied onto a record is not a link).
        """
        parent: dict[str, str] = {}
        seen: set[str] = set()

        def find(x: str) -> str:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:  # path compression
                parent[x], x = root, parent[x]
            return root

        def union(a: str, b: str) -> None:
            seen.update((a, b))
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        for a, b in self._links:
            union(a, b)
        groups: dict[str, list[str]] = {}
        for key, pid in self._conn.execute(
                "SELECT key, person_id FROM blocking WHERE key >= 'n:' AND key < 'n;'"):
            groups.setdefault(key, []).append(pid)
        for ids in groups.values():
            if len(ids) < 2:
                continue
            marks = ",".join("?" * len(ids))
            people = [_row_person(r) for r in self._conn.execute(
                f"{_SELECT_PEOPLE} WHERE person_id IN ({marks})", ids)]  # noqa: S608
            for i, first in enumerate(people):
                for other in people[i + 1:]:
                    if not compare(QueryIdentifiers.of_person(first), other).contradicted:
                        union(first.person_id, other.person_id)
        members = [(find(x), x) for x in sorted(seen)]
        self._conn.executemany("UPDATE people SET linked_to = ? WHERE person_id = ?", members)
        self.linked = sum(1 for root, x in members if root != x)

    def finish(self) -> None:
        """Link records of one person, write the name frequencies, commit, index, and close."""
        self._link_same_people()
        # How often each name occurs: rare names weigh more in matching (`frequencies`).
        self._conn.execute("CREATE TABLE name_freq (kind TEXT NOT NULL, name TEXT NOT NULL, "
                           "n INTEGER NOT NULL, PRIMARY KEY (kind, name)) WITHOUT ROWID")
        self._conn.executemany("INSERT INTO name_freq VALUES (?, ?, ?)", self._names.rows())
        self._conn.execute("COMMIT")
        self._conn.execute("CREATE INDEX records_by_person ON records (person_id, category)")
        self._conn.execute("CREATE INDEX people_by_link ON people (linked_to) "
                           "WHERE linked_to != ''")
        self._conn.execute("ANALYZE")
        self._conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        self._conn.close()
        os.replace(self._building, self.path)

    def abort(self) -> None:
        """Discard the partial store (an existing store at `path` is left untouched)."""
        self._conn.close()
        self._building.unlink(missing_ok=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()


class SqliteAgencyStore:
    """An agency store on a SQLite file, opened read-only; safe to share between threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise StoreNotFound(f"agency store not found: {self.path}")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._freq: NameFrequencies | None = None
        self._freq_loaded = False
        meta = self._upgraded()
        self.agency: str = meta.get("agency", "")
        self.meta: dict[str, str] = meta
        #: when the data was taken, for a store built from an agency's extract (else None)
        self.data_as_of: str | None = meta.get("data_as_of")

    def _upgraded(self) -> dict[str, str]:
        """The store's meta, once its schema is brought to this version's (`MIGRATIONS`)."""
        try:
            with contextlib.closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro",
                                                    uri=True)) as conn:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                version = schema_version(conn)
        except sqlite3.DatabaseError as exc:
            raise StoreUnreadable(f"not an agency store: {self.path}") from exc
        if version > len(MIGRATIONS):
            raise StoreUnreadable(f"agency store {self.path} has schema version {version}, newer "
                                  f"than this mash-hub understands ({len(MIGRATIONS)})")
        if meta.get("schema_version") not in READABLE_SCHEMAS:
            raise StoreUnreadable(f"unsupported store schema {meta.get('schema_version')!r}")
        if version < len(MIGRATIONS):
            try:
                with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as conn:
                    migrate(conn, MIGRATIONS, store=f"agency store {self.path.name}")
            except (sqlite3.DatabaseError, SchemaError) as exc:
                raise StoreUnreadable(f"agency store {self.path} (schema version {version}) could "
                                      f"not be upgraded: {exc}") from None
        return meta

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                   check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA cache_size=-32000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def name_frequencies(self) -> NameFrequencies | None:
        """How often each name occurs in this store (None for a store built without them)."""
        conn = self._conn()  # outside the lock: opening a connection takes it too
        with self._lock:
            if not self._freq_loaded:
                try:
                    rows = conn.execute("SELECT kind, name, n FROM name_freq").fetchall()
                    self._freq = NameFrequencies.from_rows(rows)
                except sqlite3.OperationalError:
                    self._freq = None  # an older store: matching falls back to flat weights
                self._freq_loaded = True
            return self._freq

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """People sharing at least one blocking key with `query` (bounded, via the key index)."""
        conn = self._conn()
        keys = query_keys(query)
        if not keys:
            return []
        if len(keys) <= _KEYS_PER_STATEMENT:
            # The usual case, in one statement: people joined to their blocking reads.
            # Under the cap the result is the same set as the exact read below, whatever
            # the order (candidates are unordered); at the cap, fall through to it.
            params: list[str | int] = []
            for key in keys:
                params += (key, PER_KEY_LIMIT)
            found = [_row_person(r) for r in conn.execute(_candidate_people_sql(len(keys)),
                                                          params)]
            if len(found) <= MAX_CANDIDATES:
                return found
        return self.people(self._candidate_ids(conn, keys))

    def _candidate_ids(self, conn: sqlite3.Connection, keys: list[str]) -> list[str]:
        """The first MAX_CANDIDATES distinct ids of a key-by-key read, in key order."""
        ids: dict[str, None] = {}
        # One statement per chunk of keys instead of one per key (a query has ~15-30 keys):
        # each key still reads at most PER_KEY_LIMIT rows, in key order, so the first
        # MAX_CANDIDATES distinct ids are exactly those of a key-by-key loop.
        for i in range(0, len(keys), _KEYS_PER_STATEMENT):
            chunk = keys[i:i + _KEYS_PER_STATEMENT]
            params: list[str | int] = []
            for key in chunk:
                params += (key, PER_KEY_LIMIT)
            for (pid,) in conn.execute(_blocking_sql(len(chunk)), params):
                ids.setdefault(pid, None)
            if len(ids) >= MAX_CANDIDATES:
                break
        return list(ids)[:MAX_CANDIDATES]

    def people(self, person_ids: list[str]) -> list[Person]:
        """The people with these ids (unknown ids are skipped)."""
        if not person_ids:
            return []
        conn = self._conn()
        out: list[Person] = []
        for i in range(0, len(person_ids), 500):
            chunk = person_ids[i:i + 500]
            sql = f"{_SELECT_PEOPLE} WHERE person_id IN ({','.join('?' * len(chunk))})"
            out.extend(_row_person(r) for r in conn.execute(sql, chunk))
        return out

    def person(self, person_id: str) -> Person | None:
        """One person by id, or None."""
        found = self.people([person_id])
        return found[0] if found else None

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """The person's records in `categories`, newest first (of every linked record too)."""
        cats = sorted({str(c) for c in categories})
        if not cats:
            return []
        marks = ",".join("?" * len(cats))
        who = ("person_id IN (SELECT ? UNION SELECT person_id FROM people WHERE linked_to != '' "
               "AND linked_to = (SELECT linked_to FROM people WHERE person_id = ?))")
        sql = ("SELECT record_id, person_id, category, occurred_on, summary, attributes "  # noqa: S608
               f"FROM records WHERE {who} AND category IN ({marks}) "
               "ORDER BY occurred_on DESC, record_id")
        ids = (person_id, person_id)
        return [Record(r[0], r[1], Category(r[2]), r[3], r[4], json.loads(r[5]))
                for r in self._conn().execute(sql, (*ids, *cats))]

    def iter_people(self) -> Iterator[Person]:
        """Every person (a scan: for evaluation and demo set-up, never for serving a query)."""
        sql = f"{_SELECT_PEOPLE} ORDER BY person_id"
        for row in self._conn().execute(sql):
            yield _row_person(row)

    def probe(self) -> BackendState:
        """Health: the store can still be read (a removed or corrupt file cannot)."""
        try:
            self._conn().execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreUnreadable(f"agency store {self.path} cannot be read: {exc}") from None
        if not self.path.is_file():
            raise StoreNotFound(f"agency store {self.path} has been removed")
        return BackendState(serving=True)

    def person_ids(self) -> list[str]:
        """Every person's id (a scan: for training and evaluation, never for serving a query)."""
        return [r[0] for r in self._conn().execute("SELECT person_id FROM people")]

    def key_groups(self, prefix: str) -> Iterator[list[str]]:
        """The ids sharing each blocking key that starts with `prefix`, for keys held by two or
        more people (a range scan of the clustered index: for training, never for serving)."""
        sql = "SELECT key, person_id FROM blocking WHERE key >= ? AND key < ? ORDER BY key"
        current: str | None = None
        ids: list[str] = []
        for key, pid in self._conn().execute(sql, (prefix, prefix + "\uffff")):
            if key != current:
                if len(ids) > 1:
                    yield ids
                current, ids = key, []
            ids.append(pid)
        if len(ids) > 1:
            yield ids

    def count_people(self) -> int:
        """How many people the store holds."""
        return int(self._conn().execute("SELECT count(*) FROM people").fetchone()[0])

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> SqliteAgencyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_backend(config: AdapterConfig, options: Mapping[str, object]) -> SqliteAgencyStore:
    """The `sqlite` backend: the reference store at the config's `store` path."""
    if options:
        raise StoreUnreadable(f"the sqlite backend takes no backend_options, got {sorted(options)}")
    return SqliteAgencyStore(config.store)
