"""The researcher queue: a durable SQLite file in the adapter's home.

A query the adapter's policy permits, for an agency whose records a researcher searches
by hand, is kept here -- the exact signed query bytes, the categories policy permitted
per subject, its RAG and due time -- until the agency's MASH researcher answers it. The
answer (the signed disclosure) is kept beside it for the broker that asked to collect.

The file is private to its owner (0600, created so before SQLite opens it), carries its
schema version (`PRAGMA user_version`, `mash.migrations`), and every change is one
`BEGIN IMMEDIATE` transaction: an item is queued whole or not at all, and an item is
answered once -- a second answer, from this process or another, is refused.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

import grpc

from mash.clock import Clock, utc_now
from mash.errors import MashError
from mash.migrations import Migration, migrate
from mash.vocab import Rag

PENDING = "pending"
ANSWERED = "answered"
STATES = (PENDING, ANSWERED)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "research items", """
        CREATE TABLE IF NOT EXISTS items (
            item_id TEXT PRIMARY KEY,
            query_id TEXT NOT NULL UNIQUE,
            broker_id TEXT NOT NULL,
            referral_id TEXT NOT NULL,
            lookup_id TEXT NOT NULL,
            rag TEXT NOT NULL,
            purpose TEXT NOT NULL,
            statutory_gateway TEXT NOT NULL,
            requester_role TEXT NOT NULL,
            received_at TEXT NOT NULL,
            due_at TEXT NOT NULL,
            query BLOB NOT NULL,
            query_sha256 BLOB NOT NULL,
            permitted TEXT NOT NULL,
            agreement_id TEXT NOT NULL,
            agreement_version TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'answered')),
            answered_by TEXT,
            answered_at TEXT,
            outcome TEXT,
            answer BLOB,
            alerted_at TEXT
        );
        CREATE INDEX IF NOT EXISTS items_state_due ON items (state, due_at);
    """),
)


class ResearchError(MashError):
    """Base class of researcher-queue errors (the message names the item, never a person)."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "research_error"


class UnknownItem(ResearchError):
    """No item with that id (or not one the caller may see)."""

    grpc_code = grpc.StatusCode.NOT_FOUND
    code = "research_item_unknown"


class AlreadyAnswered(ResearchError):
    """The item has been answered; an answer is given once."""

    code = "research_already_answered"


@dataclass(frozen=True)
class QueuedQuery:
    """What the adapter puts in the queue for one permitted query."""

    query_id: str
    broker_id: str
    referral_id: str
    lookup_id: str
    rag: str
    purpose: str
    statutory_gateway: str
    requester_role: str
    due_at: str
    query: bytes
    query_sha256: bytes
    permitted: Mapping[str, Sequence[str]]
    agreement_id: str
    agreement_version: str


@dataclass(frozen=True)
class ResearchItem:
    """One item of the queue as stored."""

    item_id: str
    query_id: str
    broker_id: str
    referral_id: str
    lookup_id: str
    rag: str
    purpose: str
    statutory_gateway: str
    requester_role: str
    received_at: datetime
    due_at: datetime | None
    query: bytes
    query_sha256: bytes
    permitted: Mapping[str, tuple[str, ...]]
    agreement_id: str
    agreement_version: str
    state: str
    answered_by: str = ""
    answered_at: datetime | None = None
    outcome: str = ""
    answer: bytes = b""
    alerted_at: datetime | None = None

    def minutes_left(self, now: datetime) -> int | None:
        """Whole minutes until the due time (negative: overdue); None without one."""
        if self.due_at is None:
            return None
        return int((self.due_at - now).total_seconds() // 60)

    def alerting(self, now: datetime, window: timedelta) -> bool:
        """A pending Red item due within `window` of `now`, or overdue."""
        return (self.state == PENDING and self.rag == Rag.RED and self.due_at is not None
                and self.due_at - now <= window)


def new_item_id() -> str:
    """A short, unguessable item id (`R-` and 12 hex digits)."""
    return "R-" + secrets.token_hex(6)


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class ResearchQueue:
    """The queue on one SQLite file. Thread-safe for the adapter's use (one connection, locked)."""

    def __init__(self, path: Path, *, clock: Clock = utc_now,
                 alert_window: timedelta = timedelta(hours=1)) -> None:
        """Open (creating, 0600) the queue at `path`; `alert_window`: how near its due time a
        pending Red item raises an alert."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # born private: never a moment in which the queue is readable by others
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self.path = path
        self.clock = clock
        self.alert_window = alert_window
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=10)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA secure_delete = ON")
        migrate(self._conn, MIGRATIONS, store="research queue")

    def close(self) -> None:
        """Close the file."""
        self._conn.close()

    def __enter__(self) -> ResearchQueue:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---------------------------------------------------------------- writes

    def enqueue(self, q: QueuedQuery) -> ResearchItem:
        """Queue `q` (one transaction); a query already queued returns its existing item."""
        now = self.clock()
        item_id = new_item_id()
        # the queued query's fields are its columns; the item adds its id, arrival and state
        row: dict[str, object] = {f.name: getattr(q, f.name) for f in fields(QueuedQuery)}
        row.update(item_id=item_id, received_at=_ts(now), state=PENDING,
                   permitted=json.dumps({k: list(v) for k, v in q.permitted.items()},
                                        sort_keys=True))
        with self._transaction() as conn:
            existing = conn.execute("SELECT item_id FROM items WHERE query_id = ?",
                                    (q.query_id,)).fetchone()
            if existing is None:
                columns = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                conn.execute(f"INSERT INTO items ({columns}) VALUES ({marks})",  # noqa: S608 - fixed column names
                             tuple(row.values()))
            else:
                item_id = existing["item_id"]
        return self.get(item_id)

    def record_answer(self, item_id: str, *, by: str, outcome: str, answer: bytes) -> ResearchItem:
        """Keep the signed answer of a pending item; `AlreadyAnswered` if it has one."""
        now = self.clock()
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE items SET state = ?, answered_by = ?, answered_at = ?, outcome = ?, "
                "answer = ? WHERE item_id = ? AND state = ?",
                (ANSWERED, by, _ts(now), outcome, answer, item_id, PENDING))
            if cur.rowcount != 1:
                row = conn.execute("SELECT state FROM items WHERE item_id = ?",
                                   (item_id,)).fetchone()
                if row is None:
                    raise UnknownItem(f"no research item {item_id}")
                raise AlreadyAnswered(f"research item {item_id} is already answered")
        return self.get(item_id)

    def mark_alerted(self, item_ids: Sequence[str]) -> None:
        """Remember that these items' alerts were raised (each is raised once)."""
        if not item_ids:
            return
        now = _ts(self.clock())
        with self._transaction() as conn:
            conn.executemany("UPDATE items SET alerted_at = ? WHERE item_id = ? "
                             "AND alerted_at IS NULL", [(now, i) for i in item_ids])

    # ---------------------------------------------------------------- reads

    def get(self, item_id: str) -> ResearchItem:
        """The item `item_id`, or `UnknownItem`."""
        row = self._conn.execute("SELECT * FROM items WHERE item_id = ?", (item_id,)).fetchone()
        if row is None:
            raise UnknownItem(f"no research item {item_id}")
        return _item(row)

    def by_query(self, query_id: str) -> ResearchItem:
        """The item holding query `query_id`, or `UnknownItem`."""
        row = self._conn.execute("SELECT * FROM items WHERE query_id = ?",
                                 (query_id,)).fetchone()
        if row is None:
            raise UnknownItem("no research item for that query")
        return _item(row)

    def items(self, state: str | None = PENDING, broker_id: str | None = None,
              ) -> list[ResearchItem]:
        """Items in `state` (None: all), for `broker_id` (None: every MASH), earliest due first."""
        sql, args = "SELECT * FROM items WHERE 1 = 1", []
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        if broker_id is not None:
            sql += " AND broker_id = ?"
            args.append(broker_id)
        # empty due times last; then by when the item came in
        sql += " ORDER BY due_at = '', due_at, received_at"
        return [_item(r) for r in self._conn.execute(sql, args).fetchall()]

    def alerts(self, broker_id: str | None = None) -> list[ResearchItem]:
        """Pending Red items near (within the alert window) or past their due time."""
        now = self.clock()
        return [i for i in self.items(PENDING, broker_id) if i.alerting(now, self.alert_window)]

    def counts(self) -> dict[str, int]:
        """How many items are in each state."""
        rows = self._conn.execute("SELECT state, count(*) AS n FROM items GROUP BY state")
        out = dict.fromkeys(STATES, 0)
        out.update({r["state"]: int(r["n"]) for r in rows.fetchall()})
        return out

    # ---------------------------------------------------------------- internals

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT` (or `ROLLBACK` on any error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _item(row: sqlite3.Row) -> ResearchItem:
    permitted = json.loads(row["permitted"])
    return ResearchItem(
        item_id=row["item_id"], query_id=row["query_id"], broker_id=row["broker_id"],
        referral_id=row["referral_id"], lookup_id=row["lookup_id"], rag=row["rag"],
        purpose=row["purpose"], statutory_gateway=row["statutory_gateway"],
        requester_role=row["requester_role"],
        received_at=datetime.fromisoformat(row["received_at"]), due_at=_dt(row["due_at"]),
        query=bytes(row["query"]), query_sha256=bytes(row["query_sha256"]),
        permitted={k: tuple(v) for k, v in permitted.items()},
        agreement_id=row["agreement_id"], agreement_version=row["agreement_version"],
        state=row["state"], answered_by=row["answered_by"] or "",
        answered_at=_dt(row["answered_at"]), outcome=row["outcome"] or "",
        answer=bytes(row["answer"]) if row["answer"] is not None else b"",
        alerted_at=_dt(row["alerted_at"]))
