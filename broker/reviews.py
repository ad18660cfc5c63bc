"""Requests held for REVIEW: the broker keeps them until a team manager decides.

The held request is kept in full (it is what the query would carry) in the
broker's own working store, never in the audit log; the audit log records the
review's id, the decision and the reasons.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc

from mash.errors import InvalidRequest, MashError
from mash.migrations import Migration, migrate
from mash.v1 import mash_pb2 as pb

#: `deciding`: one manager's decision is being recorded (the review is theirs alone until it is
#: durable in the audit log, or handed back as pending if it cannot be).
STATUSES = ("pending", "deciding", "approved", "rejected")


class ReviewNotFound(MashError):
    """No review with that id."""

    grpc_code = grpc.StatusCode.NOT_FOUND
    code = "review_not_found"


class ReviewAlreadyDecided(MashError):
    """The review was approved or rejected already."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "review_already_decided"


@dataclass(frozen=True)
class HeldRequest:
    """A review with the lookup request it holds back."""

    review: pb.Review
    request: pb.LookupRequest


def new_review_id() -> str:
    """A fresh review id (short enough to type at `mash review approve`)."""
    return f"rv-{uuid.uuid4().hex[:12]}"


#: The review store's schema, oldest first (see `mash.migrations`).
MIGRATIONS = (
    Migration(1, "held requests, by status and time and by referral", """
        CREATE TABLE IF NOT EXISTS "reviews" (
           "review_id" TEXT PRIMARY KEY, "status" TEXT, "referral_id" TEXT,
           "requested_at" TEXT, "review" BLOB, "request" BLOB);
        CREATE INDEX IF NOT EXISTS "idx_reviews_status_requested_at"
            ON "reviews" ("status", "requested_at");
        CREATE INDEX IF NOT EXISTS "idx_reviews_referral_id" ON "reviews" ("referral_id");
    """),
)


class ReviewStore:
    """SQLite store of held requests (one file under the broker's home)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        migrate(self._conn, MIGRATIONS, store=f"review store {path}")

    def hold(self, review: pb.Review, request: pb.LookupRequest) -> pb.Review:
        """Store a new pending review (assigning its id) and return it."""
        review.review_id = review.review_id or new_review_id()
        review.status = "pending"
        with self._lock:
            self._conn.execute(
                "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?)",
                (review.review_id, review.status, review.referral_id, review.requested_at,
                 review.SerializeToString(), request.SerializeToString()))
        return review

    def get(self, review_id: str) -> HeldRequest:
        """The review and its held request, or ReviewNotFound."""
        with self._lock:
            row = self._conn.execute(
                "SELECT review, request FROM reviews WHERE review_id = ?", (review_id,)).fetchone()
        if row is None:
            raise ReviewNotFound("no such review")
        return HeldRequest(pb.Review.FromString(row[0]), pb.LookupRequest.FromString(row[1]))

    def list(self, status: str = "pending", referral_id: str = "") -> Sequence[pb.Review]:
        """Reviews by status (`all` for every one), oldest first."""
        if status not in (*STATUSES, "all"):
            raise InvalidRequest(f"status must be one of {', '.join((*STATUSES, 'all'))}")
        sql, args = "SELECT review FROM reviews WHERE 1=1", []
        if status != "all":
            sql, args = sql + " AND status = ?", [status]
        if referral_id:
            sql += " AND referral_id = ?"
            args.append(referral_id)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY requested_at", args).fetchall()
        return [pb.Review.FromString(r[0]) for r in rows]

    def claim(self, review_id: str, *, by: str) -> HeldRequest:
        """Take a pending review for one decision, atomically; ReviewAlreadyDecided otherwise.

        Of two managers deciding the same review at once exactly one claim succeeds: the
        status moves from `pending` to `deciding` in one write transaction.
        """
        def take(review: pb.Review) -> None:
            if review.status != "pending":
                raise ReviewAlreadyDecided(
                    f"review already {'being decided' if review.status == 'deciding' else review.status}")
            review.status, review.decided_by = "deciding", by
        return self._update(review_id, take)

    def release(self, review_id: str, *, by: str) -> None:
        """Hand a claimed review back as pending (its decision could not be recorded)."""
        def back(review: pb.Review) -> None:
            if review.status == "deciding" and review.decided_by == by:
                review.status, review.decided_by = "pending", ""
        self._update(review_id, back)

    def decide(self, review_id: str, *, approve: bool, by: str, reason: str,
               at: datetime) -> HeldRequest:
        """Record the decision of the manager who claimed the review; returns the updated review."""
        def settle(review: pb.Review) -> None:
            if review.status != "deciding" or review.decided_by != by:
                raise ReviewAlreadyDecided(f"review already {review.status}")
            review.status = "approved" if approve else "rejected"
            review.decided_at, review.decision_reason = at.isoformat(), reason
        return self._update(review_id, settle)

    def _update(self, review_id: str, change: Callable[[pb.Review], None]) -> HeldRequest:
        """Read, change and write one review in a single write transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute(
                    "SELECT review, request FROM reviews WHERE review_id = ?",
                    (review_id,)).fetchone()
                if row is None:
                    raise ReviewNotFound("no such review")
                review = pb.Review.FromString(row[0])
                change(review)
                self._conn.execute(
                    "UPDATE reviews SET status = ?, review = ? WHERE review_id = ?",
                    (review.status, review.SerializeToString(), review_id))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return HeldRequest(review, pb.LookupRequest.FromString(row[1]))

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

