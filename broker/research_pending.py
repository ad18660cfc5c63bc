"""Queries waiting for an agency's researcher: kept until the broker collects the answer.

When an adapter answers `pending_research` (a signed disclosure, verified like any
other), the broker keeps the exact signed query it sent, so the researcher's answer,
collected later, is verified against that very query (its hash, its parties). The file is
the broker's own working store (0600, schema version by `PRAGMA user_version`); the audit
log records ids and hashes, never the query's subjects.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mash.migrations import Migration, migrate

PENDING = "pending"
COLLECTED = "collected"

MIGRATIONS = (
    Migration(1, "queries waiting for an agency's researcher, by referral", """
        CREATE TABLE IF NOT EXISTS research (
            query_id TEXT PRIMARY KEY,
            agency TEXT NOT NULL,
            referral_id TEXT NOT NULL,
            lookup_id TEXT NOT NULL,
            query BLOB NOT NULL,
            query_sha256 BLOB NOT NULL,
            decision TEXT NOT NULL,
            agreement_id TEXT NOT NULL,
            agreement_version TEXT NOT NULL,
            asked_at TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'collected')),
            collected_at TEXT,
            filed_lookup_id TEXT
        );
        CREATE INDEX IF NOT EXISTS research_referral ON research (referral_id, state);
    """),
)


@dataclass(frozen=True)
class PendingResearch:
    """One query an agency's researcher is still to answer."""

    query_id: str
    agency: str
    referral_id: str
    lookup_id: str
    query: bytes
    query_sha256: bytes
    decision: str
    agreement_id: str
    agreement_version: str
    asked_at: str
    state: str = PENDING
    filed_lookup_id: str = ""


class PendingResearchStore:
    """The pending queries on one SQLite file (thread-safe: one connection, locked)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                     timeout=10)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._lock = threading.Lock()
        migrate(self._conn, MIGRATIONS, store="pending research store")

    def close(self) -> None:
        """Close the file."""
        self._conn.close()

    def add(self, item: PendingResearch) -> None:
        """Keep `item` (a query already kept is left as it is)."""
        with self._lock:
            self._conn.execute(
                "INSERT OR IGNORE INTO research (query_id, agency, referral_id, lookup_id, "
                "query, query_sha256, decision, agreement_id, agreement_version, asked_at, "
                "state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item.query_id, item.agency, item.referral_id, item.lookup_id, item.query,
                 item.query_sha256, item.decision, item.agreement_id, item.agreement_version,
                 item.asked_at, PENDING))

    def pending(self, referral_id: str) -> list[PendingResearch]:
        """The referral's queries still waiting, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM research WHERE referral_id = ? AND state = ? "
                "ORDER BY asked_at, query_id", (referral_id, PENDING)).fetchall()
        return [_item(r) for r in rows]

    def waiting_referrals(self) -> list[str]:
        """Every referral with a query still waiting, the longest-waiting first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT referral_id FROM research WHERE state = ? GROUP BY referral_id "
                "ORDER BY MIN(asked_at), referral_id", (PENDING,)).fetchall()
        return [str(r["referral_id"]) for r in rows]

    def collected(self, query_id: str, at: datetime, filed_lookup_id: str) -> bool:
        """Mark a query's answer collected (and where it was filed); False if it already was."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE research SET state = ?, collected_at = ?, filed_lookup_id = ? "
                "WHERE query_id = ? AND state = ?",
                (COLLECTED, at.isoformat(), filed_lookup_id, query_id, PENDING))
        return cur.rowcount == 1


def _item(row: sqlite3.Row) -> PendingResearch:
    return PendingResearch(
        query_id=row["query_id"], agency=row["agency"], referral_id=row["referral_id"],
        lookup_id=row["lookup_id"], query=bytes(row["query"]),
        query_sha256=bytes(row["query_sha256"]), decision=row["decision"],
        agreement_id=row["agreement_id"], agreement_version=row["agreement_version"],
        asked_at=row["asked_at"], state=row["state"],
        filed_lookup_id=row["filed_lookup_id"] or "")
