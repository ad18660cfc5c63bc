"""The referral store: referral records, their history, and the summaries kept for them.

`ReferralStore` is the small interface the broker and the CLI use;
`SqliteReferralStore` is the one-machine backend (sqlite-utils). A
PostgreSQL backend for scale-out implements the same Protocol.

Summaries are kept per lookup and per agency, because each agency's part is
governed by its own data-sharing agreement and so by its own retention period:
`purge_expired` deletes each agency part once its retention has passed, keeps a
stub (agency, status, agreement -- no facts) so the report can say it was
deleted, records a `SummaryDeletion`, and tells the audit hook.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import grpc
import sqlite_utils

from broker.referral_record import (
    TRANSITIONS,
    InvalidReferral,
    InvalidTransition,
    ManagerDecision,
    RagChange,
    Referral,
    ReferralEdit,
    ReferralError,
    ReferralSubject,
    StatusChange,
    StoredSummary,
    SummaryDeletion,
)
from mash.clock import Clock, utc_now
from mash.home import Home
from mash.migrations import Migration, migrate
from mash.v1 import mash_pb2
from mash.vocab import (
    LevelOfNeed,
    Outcome,
    Rag,
    ReferralSource,
    ReferralStatus,
    SubjectRole,
    parse,
)


class ReferralNotFound(ReferralError):
    """No referral with that id in the store."""

    grpc_code = grpc.StatusCode.NOT_FOUND
    code = "referral_not_found"


class DuplicateReferral(ReferralError):
    """A referral with that id already exists."""

    grpc_code = grpc.StatusCode.ALREADY_EXISTS
    code = "duplicate_referral"


class DuplicateSummary(ReferralError):
    """A summary for that lookup is already filed (summaries are never overwritten)."""

    grpc_code = grpc.StatusCode.ALREADY_EXISTS
    code = "duplicate_summary"


class UnknownRetention(ReferralError):
    """A summary part carries agency data under an agreement whose retention is not known."""

    grpc_code = grpc.StatusCode.FAILED_PRECONDITION
    code = "unknown_retention"


def referral_db_path(home: Home) -> Path:
    """Where the broker keeps its referral store in a home folder."""
    return home.root / "broker" / "referrals.sqlite"


@dataclass(frozen=True)
class NewReferral:
    """What is known when a referral is received."""

    received_at: datetime
    source: ReferralSource
    reason: str
    subjects: tuple[ReferralSubject, ...]
    rag: Rag
    by: str
    rag_reason: str = "initial rating"
    referral_id: str | None = None

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise InvalidReferral("received_at: needs a UTC offset")
        if not self.reason.strip():
            raise InvalidReferral("reason: must not be empty")
        if not self.subjects:
            raise InvalidReferral("subjects: a referral is about at least one person")
        ids = [s.subject_id for s in self.subjects]
        if len(set(ids)) != len(ids):
            raise InvalidReferral("subjects.subject_id: ids must be unique within a referral")
        if not self.by:
            raise InvalidReferral("by: name who recorded the referral")


class RetentionTerms(Protocol):
    """An agreement's retention terms (`policy.agreement.Retention`)."""

    @property
    def disclosed_summary_days(self) -> int:
        """Days a disclosed summary may be kept."""
        ...


class HasRetention(Protocol):
    """An agreement as far as retention goes (`policy.agreement.Agreement`)."""

    @property
    def id(self) -> str:
        """The agreement id that summaries name."""
        ...

    @property
    def retention(self) -> RetentionTerms:
        """Its retention terms."""
        ...


@dataclass(frozen=True)
class RetentionByAgreement:
    """Retention of disclosed summaries per agreement id (the agreement's `disclosed_summary_days`).

    A part with no facts (not known, timed out, withheld ...) holds no agency
    data and is kept with the summary. A part with facts under an agreement
    not listed here uses `default_days`; if that is None the store refuses to
    keep it (fail closed: never keep data for an unknown period).
    """

    days: Mapping[str, int] = field(default_factory=dict)
    default_days: int | None = None

    @classmethod
    def from_agreements(cls, agreements: Iterable[HasRetention],
                        default_days: int | None = None) -> RetentionByAgreement:
        """Retention from the data-sharing agreements (`[retention] disclosed_summary_days`).

        Where two versions of one agreement differ, the shorter period wins:
        keeping data for less time than one version allows is always lawful.
        """
        days: dict[str, int] = {}
        for a in agreements:
            period = a.retention.disclosed_summary_days
            days[a.id] = min(period, days.get(a.id, period))
        return cls(days=days, default_days=default_days)

    def overridden(self, days: Mapping[str, int],
                   default_days: int | None) -> RetentionByAgreement:
        """This rule with some agreements' periods (and the default) replaced."""
        return RetentionByAgreement(days={**self.days, **days},
                                    default_days=self.default_days if default_days is None
                                    else default_days)

    def retention_for(self, result: mash_pb2.AgencyResult) -> timedelta | None:
        """How long `result` may be kept, or None if it holds no agency data."""
        if not any(s.facts for s in result.subjects):
            return None
        days = self.days.get(result.agreement_id, self.default_days)
        if days is None:
            raise UnknownRetention(
                f"no retention known for agreement {result.agreement_id!r} ({result.agency})"
            )
        return timedelta(days=days)


class RetentionRule(Protocol):
    """Decides how long one agency's part of a summary may be kept."""

    def retention_for(self, result: mash_pb2.AgencyResult) -> timedelta | None:
        """Retention of `result` from when it is stored, or None if it holds no agency data."""
        ...


class ReferralStore(Protocol):
    """What the broker and CLI need from a referral store."""

    def create(self, new: NewReferral) -> Referral:
        """Record a newly received referral (status `screening`)."""
        ...

    def get(self, referral_id: str) -> Referral:
        """The referral with its history, or raise `ReferralNotFound`."""
        ...

    def referrals(self, status: ReferralStatus | None = None) -> list[Referral]:
        """All referrals (optionally of one status), oldest first."""
        ...

    def rerate(self, referral_id: str, rag: Rag, by: str, reason: str) -> Referral:
        """Record a new RAG rating with who and why."""
        ...

    def set_status(self, referral_id: str, status: ReferralStatus, by: str,
                   note: str = "") -> Referral:
        """Move the referral through the workflow (`TRANSITIONS`)."""
        ...

    def decide(self, referral_id: str, level_of_need: LevelOfNeed, outcome: Outcome,
               rationale: str, by: str) -> Referral:
        """Record the team manager's decision; the referral becomes `decided`."""
        ...

    def save_summary(self, summary: mash_pb2.ReferralSummary,
                     retention: RetentionRule) -> StoredSummary:
        """Keep a lookup's summary for its referral, each agency part with its retention."""
        ...

    def summaries(self, referral_id: str) -> list[StoredSummary]:
        """The referral's kept summaries, oldest first (deleted parts as stubs)."""
        ...

    def purge_expired(self) -> list[SummaryDeletion]:
        """Delete every summary part whose retention has passed; return what was deleted."""
        ...

    def deletions(self, referral_id: str) -> list[SummaryDeletion]:
        """What has been deleted from the referral's summaries under retention."""
        ...


def _new_referral_id() -> str:
    return f"REF-{secrets.token_hex(4).upper()}"


def _ts(moment: datetime) -> str:
    """A sortable UTC timestamp for storage."""
    return moment.astimezone(UTC).isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _received_at_in_utc(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT referral_id, received_at FROM referrals").fetchall()
    conn.executemany("UPDATE referrals SET received_at = ? WHERE referral_id = ?",
                     [(datetime.fromisoformat(at).astimezone(UTC).isoformat(), rid)
                      for rid, at in rows])


#: The referral store's schema, oldest first (see `mash.migrations`).
MIGRATIONS = (
    Migration(1, "referrals, their history, summaries and retention deletions", """
        CREATE TABLE IF NOT EXISTS "referrals" ("referral_id" TEXT PRIMARY KEY,
           "received_at" TEXT, "source" TEXT, "reason" TEXT, "subjects" TEXT);
        CREATE TABLE IF NOT EXISTS "rag_changes" ("seq" INTEGER PRIMARY KEY,
           "referral_id" TEXT REFERENCES "referrals"("referral_id"), "rag" TEXT, "at" TEXT,
           "by" TEXT, "reason" TEXT);
        CREATE INDEX IF NOT EXISTS "idx_rag_changes_referral_id" ON "rag_changes" ("referral_id");
        CREATE TABLE IF NOT EXISTS "status_changes" ("seq" INTEGER PRIMARY KEY,
           "referral_id" TEXT REFERENCES "referrals"("referral_id"), "status" TEXT, "at" TEXT,
           "by" TEXT, "note" TEXT);
        CREATE INDEX IF NOT EXISTS "idx_status_changes_referral_id"
            ON "status_changes" ("referral_id");
        CREATE TABLE IF NOT EXISTS "decisions" ("seq" INTEGER PRIMARY KEY,
           "referral_id" TEXT REFERENCES "referrals"("referral_id"), "level_of_need" TEXT,
           "outcome" TEXT, "rationale" TEXT, "by" TEXT, "at" TEXT);
        CREATE INDEX IF NOT EXISTS "idx_decisions_referral_id" ON "decisions" ("referral_id");
        CREATE TABLE IF NOT EXISTS "edits" ("seq" INTEGER PRIMARY KEY,
           "referral_id" TEXT REFERENCES "referrals"("referral_id"), "at" TEXT, "by" TEXT,
           "change" TEXT, "note" TEXT);
        CREATE INDEX IF NOT EXISTS "idx_edits_referral_id" ON "edits" ("referral_id");
        CREATE TABLE IF NOT EXISTS "summaries" ("lookup_id" TEXT PRIMARY KEY,
           "referral_id" TEXT REFERENCES "referrals"("referral_id"), "stored_at" TEXT,
           "header" BLOB);
        CREATE INDEX IF NOT EXISTS "idx_summaries_referral_id" ON "summaries" ("referral_id");
        CREATE TABLE IF NOT EXISTS "summary_parts" (
           "lookup_id" TEXT REFERENCES "summaries"("lookup_id"), "position" INTEGER,
           "agency" TEXT, "agreement_id" TEXT, "agreement_version" TEXT, "retain_until" TEXT,
           "deleted_at" TEXT, "result" BLOB NOT NULL, PRIMARY KEY ("lookup_id", "position"));
        CREATE INDEX IF NOT EXISTS "idx_summary_parts_retain_until"
            ON "summary_parts" ("retain_until");
        CREATE TABLE IF NOT EXISTS "deletions" ("seq" INTEGER PRIMARY KEY, "referral_id" TEXT,
           "lookup_id" TEXT, "agency" TEXT, "agreement_id" TEXT, "agreement_version" TEXT,
           "retain_until" TEXT, "deleted_at" TEXT);
        CREATE INDEX IF NOT EXISTS "idx_deletions_referral_id" ON "deletions" ("referral_id");
    """),
    # (Files from before this version may already hold the table, made by the referral flow.)
    Migration(2, "the terms each lookup was made under, kept for a later re-rating", """
        CREATE TABLE IF NOT EXISTS "lookup_context" ("lookup_id" TEXT PRIMARY KEY,
           "referral_id" TEXT, "at" TEXT, "purpose" TEXT, "gateway" TEXT,
           "consent_state" TEXT, "consent_reason" TEXT);
        CREATE INDEX IF NOT EXISTS "idx_lookup_context_referral_id"
            ON "lookup_context" ("referral_id", "at");
    """),
    Migration(3, "received_at in UTC, so it sorts as text", _received_at_in_utc),
)


#: Each history table's columns, read as one JSON array per referral inside the query that
#: reads the referrals (no query per referral).
_HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "rag_changes": ("rag", "at", "by", "reason"),
    "status_changes": ("status", "at", "by", "note"),
    "decisions": ("level_of_need", "outcome", "rationale", "by", "at"),
    "edits": ("at", "by", "change", "note"),
}


def _history_array(table: str, columns: Sequence[str]) -> str:
    """`table`'s rows for the referral `r` as one JSON array of [seq, *columns]."""
    values = ", ".join(f'h."{c}"' for c in columns)
    rows = f"SELECT json_group_array(json_array(h.seq, {values})) FROM {table} h"  # noqa: S608
    return f"({rows} WHERE h.referral_id = r.referral_id)"


# Built only from the constant table and column names above; values are always bound.
_HISTORY_ARRAYS = ", ".join(_history_array(t, c) for t, c in _HISTORY_COLUMNS.items())
_SELECT_REFERRALS = ("SELECT r.referral_id, r.received_at, r.source, r.reason, r.subjects, "  # noqa: S608
                     f"{_HISTORY_ARRAYS} FROM referrals r")
#: A referral's current status: its latest status change (what `Referral.status` says).
_CURRENT_STATUS = ("(SELECT s.status FROM status_changes s WHERE s.referral_id = r.referral_id "
                   "ORDER BY s.seq DESC LIMIT 1)")


def _history(text: str) -> list[list[str]]:
    """One history column: its rows in the order they were written (by seq), seq dropped."""
    rows: list[list[Any]] = json.loads(text)  # [seq (an integer), then the text columns]
    return [row[1:] for row in sorted(rows, key=lambda row: int(row[0]))]


def _referral(row: tuple[str, ...]) -> Referral:
    """A `Referral` from one row of `_SELECT_REFERRALS`."""
    rid, received_at, source, reason, subjects, rags, statuses, decisions, edits = row
    return Referral(
        referral_id=rid,
        received_at=_dt(received_at),
        source=ReferralSource(source),
        reason=reason,
        subjects=tuple(ReferralSubject(s["subject_id"], SubjectRole(s["role"]), s["identifiers"])
                       for s in json.loads(subjects)),
        rag_history=tuple(RagChange(Rag(rag), _dt(at), by, why)
                          for rag, at, by, why in _history(rags)),
        status_history=tuple(StatusChange(ReferralStatus(status), _dt(at), by, note)
                             for status, at, by, note in _history(statuses)),
        decisions=tuple(ManagerDecision(LevelOfNeed(level), Outcome(outcome), rationale, by,
                                        _dt(at))
                        for level, outcome, rationale, by, at in _history(decisions)),
        edits=tuple(ReferralEdit(_dt(at), by, change, note)
                    for at, by, change, note in _history(edits)),
    )


class SqliteReferralStore:
    """`ReferralStore` on one SQLite file (sqlite-utils)."""

    def __init__(self, path: Path, *, clock: Clock = utc_now,
                 new_id: Callable[[], str] = _new_referral_id,
                 on_delete: Callable[[SummaryDeletion], None] | None = None) -> None:
        """Open (creating if needed) the store at `path`.

        `clock` gives aware "now"s; `new_id` makes referral ids; `on_delete` is
        told of every retention deletion (the broker appends it to its audit log).
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(path)
        # Deleted summaries must not linger in free pages of the file.
        self.db.execute("pragma secure_delete = on")
        self.db.execute("pragma foreign_keys = on")
        self.clock = clock
        self.new_id = new_id
        self.on_delete = on_delete
        self._create_tables()

    @classmethod
    def in_home(cls, home: Home, *, clock: Clock = utc_now,
                on_delete: Callable[[SummaryDeletion], None] | None = None
                ) -> SqliteReferralStore:
        """The broker's referral store in `home`."""
        return cls(referral_db_path(home), clock=clock, on_delete=on_delete)

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    # ---------------------------------------------------------------- schema

    def _create_tables(self) -> None:
        migrate(self.db.conn, MIGRATIONS, store="referral store")

    # ---------------------------------------------------------------- lookup terms

    def save_lookup_terms(self, lookup_id: str, referral_id: str, at: datetime,
                          terms: Mapping[str, str]) -> None:
        """Keep the terms (purpose, gateway, consent_state, consent_reason) a lookup was made under."""
        with self.db.atomic():
            self.db.execute(
                "INSERT OR REPLACE INTO lookup_context (lookup_id, referral_id, at, purpose, "
                "gateway, consent_state, consent_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [lookup_id, referral_id, at.astimezone(UTC).isoformat(), terms["purpose"],
                 terms["gateway"], terms["consent_state"], terms.get("consent_reason", "")])

    def latest_lookup_terms(self, referral_id: str) -> dict[str, str] | None:
        """The terms of the referral's latest lookup whose terms were kept, if any."""
        rows = list(self.db.query(
            "SELECT purpose, gateway, consent_state, consent_reason FROM lookup_context "
            "WHERE referral_id = ? ORDER BY at DESC, rowid DESC LIMIT 1", [referral_id]))
        return {k: str(v or "") for k, v in rows[0].items()} if rows else None

    # ---------------------------------------------------------------- referrals

    def create(self, new: NewReferral) -> Referral:
        """Record a newly received referral (status `screening`)."""
        referral_id = new.referral_id or self.new_id()
        now = self.clock()
        subjects = [{"subject_id": s.subject_id, "role": s.role.value,
                     "identifiers": dict(s.identifiers)} for s in new.subjects]
        with self.db.atomic():
            if self._exists(referral_id):
                raise DuplicateReferral(f"referral {referral_id} already exists")
            self.db.table("referrals").insert({
                # UTC, so that times given with different offsets sort as text correctly
                "referral_id": referral_id,
                "received_at": new.received_at.astimezone(UTC).isoformat(),
                "source": new.source.value, "reason": new.reason,
                "subjects": json.dumps(subjects, sort_keys=True)})
            self.db.table("rag_changes").insert({"referral_id": referral_id, "rag": new.rag.value,
                                           "at": now.isoformat(), "by": new.by,
                                           "reason": new.rag_reason})
            self.db.table("status_changes").insert({
                "referral_id": referral_id, "status": ReferralStatus.SCREENING.value,
                "at": now.isoformat(), "by": new.by, "note": "received"})
        return self.get(referral_id)

    def get(self, referral_id: str) -> Referral:
        """The referral with its history, or raise `ReferralNotFound`."""
        rows = self._select("WHERE r.referral_id = ?", [referral_id])
        if not rows:
            raise ReferralNotFound(f"no referral {referral_id}")
        return rows[0]

    def referrals(self, status: ReferralStatus | None = None) -> list[Referral]:
        """All referrals (optionally of one status), oldest first (one query, however many)."""
        if status is None:
            return self._select("", [])
        return self._select(f"WHERE {_CURRENT_STATUS} = ?", [parse(ReferralStatus, status).value])

    def _select(self, where: str, params: Sequence[str]) -> list[Referral]:
        """Referrals with their histories: one statement, each history a JSON array column."""
        sql = f"{_SELECT_REFERRALS} {where} ORDER BY r.received_at, r.referral_id"
        return [_referral(row) for row in self.db.conn.execute(sql, params)]

    def rerate(self, referral_id: str, rag: Rag, by: str, reason: str) -> Referral:
        """Record a new RAG rating with who and why (a closed referral cannot be re-rated)."""
        rag = parse(Rag, rag)
        if not reason.strip():
            raise InvalidReferral("reason: a re-rating must say why")
        with self.db.atomic():
            current = self.get(referral_id)
            if current.status == ReferralStatus.CLOSED:
                raise InvalidTransition(f"referral {referral_id} is closed")
            self.db.table("rag_changes").insert({"referral_id": referral_id, "rag": rag.value,
                                           "at": self.clock().isoformat(), "by": by,
                                           "reason": reason})
        return self.get(referral_id)

    def set_status(self, referral_id: str, status: ReferralStatus, by: str,
                   note: str = "") -> Referral:
        """Move the referral through the workflow (`TRANSITIONS`).

        `decided` is reached only through `decide`, which records the decision.
        """
        status = parse(ReferralStatus, status)
        if status == ReferralStatus.DECIDED:
            raise InvalidTransition("use decide() to record a decision")
        with self.db.atomic():
            self._move(self.get(referral_id), status, by, note)
        return self.get(referral_id)

    def decide(self, referral_id: str, level_of_need: LevelOfNeed, outcome: Outcome,
               rationale: str, by: str) -> Referral:
        """Record the team manager's decision; the referral becomes `decided`."""
        decision = ManagerDecision(level_of_need=parse(LevelOfNeed, level_of_need),
                                   outcome=parse(Outcome, outcome), rationale=rationale, by=by,
                                   at=self.clock())
        with self.db.atomic():
            self._move(self.get(referral_id), ReferralStatus.DECIDED, by,
                       f"{decision.level_of_need.value}: {decision.outcome.value}")
            self.db.table("decisions").insert({
                "referral_id": referral_id, "level_of_need": decision.level_of_need.value,
                "outcome": decision.outcome.value, "rationale": decision.rationale,
                "by": decision.by, "at": decision.at.isoformat()})
        return self.get(referral_id)

    def edit(self, referral_id: str, *, by: str, reason: str | None = None,
             source: ReferralSource | None = None, put: Sequence[ReferralSubject] = (),
             remove: Sequence[str] = (), note: str = "") -> Referral:
        """Correct the details, add or correct subjects (by id) and remove subjects.

        A closed referral is not edited; a referral keeps at least one subject.
        Each change is kept in the history by id only (no names).
        """
        if not by:
            raise InvalidReferral("by: name who edited the referral")
        with self.db.atomic():
            current = self.get(referral_id)
            if current.status == ReferralStatus.CLOSED:
                raise InvalidTransition(f"referral {referral_id} is closed")
            by_id = {s.subject_id: s for s in current.subjects}
            unknown = [sid for sid in remove if sid not in by_id]
            if unknown:
                raise InvalidReferral(f"remove_subject_ids: no subject {unknown[0]} in "
                                      f"{referral_id}")
            changes: list[str] = []
            updated = dict(by_id)
            for sid in remove:
                del updated[sid]
                changes.append(f"removed subject {sid}")
            for subject in put:
                if subject.subject_id in remove:
                    raise InvalidReferral(f"put_subjects: {subject.subject_id} is also removed")
                verb = "corrected" if subject.subject_id in updated else "added"
                updated[subject.subject_id] = subject
                changes.append(f"{verb} subject {subject.subject_id}")
            if not updated:
                raise InvalidReferral("remove_subject_ids: a referral keeps at least one subject")
            fields: dict[str, str] = {}
            if reason is not None and reason != current.reason:
                if not reason.strip():
                    raise InvalidReferral("reason: must not be empty")
                fields["reason"] = reason
                changes.append("corrected reason")
            if source is not None and source != current.source:
                fields["source"] = source.value
                changes.append(f"source {current.source.value} -> {source.value}")
            if not changes:
                raise InvalidReferral("nothing to change")
            fields["subjects"] = json.dumps(
                [{"subject_id": s.subject_id, "role": s.role.value,
                  "identifiers": dict(s.identifiers)} for s in updated.values()],
                sort_keys=True)
            self.db.table("referrals").update(referral_id, fields)
            at = self.clock().isoformat()
            self.db.table("edits").insert_all([
                {"referral_id": referral_id, "at": at, "by": by, "change": change,
                 "note": note} for change in changes])
        return self.get(referral_id)

    def _move(self, current: Referral, status: ReferralStatus, by: str, note: str) -> None:
        if status not in TRANSITIONS[current.status]:
            raise InvalidTransition(
                f"referral {current.referral_id} cannot go from {current.status.value} "
                f"to {status.value}")
        self.db.table("status_changes").insert({"referral_id": current.referral_id,
                                          "status": status.value,
                                          "at": self.clock().isoformat(), "by": by,
                                          "note": note})

    def exists(self, referral_id: str) -> bool:
        """Whether the store holds a referral with this id."""
        return self._exists(referral_id)

    def _exists(self, referral_id: str) -> bool:
        return bool(list(self.db.query("select 1 from referrals where referral_id = ?",
                                       [referral_id])))

    def _rows(self, table: str, referral_id: str) -> list[dict[str, Any]]:
        return list(self.db.query(f"select * from {table} where referral_id = ? order by seq",  # noqa: S608 - fixed table names
                                  [referral_id]))

    # ---------------------------------------------------------------- summaries

    def save_summary(self, summary: mash_pb2.ReferralSummary,
                     retention: RetentionRule) -> StoredSummary:
        """Keep a lookup's summary for its referral, each agency part with its retention.

        Raises `ReferralNotFound` for an unknown referral and `UnknownRetention`
        (storing nothing) if any part's retention is unknown.
        """
        referral_id = summary.referral_id
        if not summary.lookup_id:
            raise InvalidReferral("summary.lookup_id: must not be empty")
        now = self.clock()
        header = mash_pb2.ReferralSummary()
        header.CopyFrom(summary)
        del header.agencies[:]
        parts = []
        for position, result in enumerate(summary.agencies):
            keep_for = retention.retention_for(result)  # may raise before anything is written
            parts.append({
                "lookup_id": summary.lookup_id, "position": position, "agency": result.agency,
                "agreement_id": result.agreement_id,
                "agreement_version": result.agreement_version,
                "retain_until": None if keep_for is None else _ts(now + keep_for),
                "deleted_at": None, "result": result.SerializeToString(deterministic=True)})
        with self.db.atomic():
            if not self._exists(referral_id):
                raise ReferralNotFound(f"no referral {referral_id}")
            if list(self.db.query("select 1 from summaries where lookup_id = ?",
                                  [summary.lookup_id])):
                raise DuplicateSummary(f"lookup {summary.lookup_id} is already filed")
            self.db.table("summaries").insert({"lookup_id": summary.lookup_id,
                                         "referral_id": referral_id, "stored_at": _ts(now),
                                         "header": header.SerializeToString(deterministic=True)})
            if parts:
                self.db.table("summary_parts").insert_all(parts)
        return self._stored(summary.lookup_id)

    def summaries(self, referral_id: str) -> list[StoredSummary]:
        """The referral's kept summaries, oldest first (deleted parts as stubs).

        Three queries however many summaries: the headers, every part, the deletions.
        """
        heads = list(self.db.query("select * from summaries where referral_id = ? "
                                   "order by stored_at, lookup_id", [referral_id]))
        if not heads:
            return []
        parts: dict[str, list[bytes]] = {}
        for part in self.db.query(
                "select p.lookup_id, p.result from summary_parts p join summaries s "
                "on s.lookup_id = p.lookup_id where s.referral_id = ? "
                "order by p.lookup_id, p.position", [referral_id]):
            parts.setdefault(part["lookup_id"], []).append(part["result"])
        deletions = self.deletions(referral_id)
        return [_assemble(head, parts.get(head["lookup_id"], []), deletions) for head in heads]

    def _stored(self, lookup_id: str) -> StoredSummary:
        head = next(iter(self.db.query("select * from summaries where lookup_id = ?",
                                       [lookup_id])))
        parts = [part["result"] for part in self.db.query(
            "select result from summary_parts where lookup_id = ? order by position",
            [lookup_id])]
        return _assemble(head, parts, self.deletions(head["referral_id"]))

    def purge_expired(self) -> list[SummaryDeletion]:
        """Delete every summary part whose retention has passed; return what was deleted.

        The part is replaced by a stub with the agency, status, signer and
        agreement but no subjects or facts; a `SummaryDeletion` is stored and
        passed to `on_delete`.
        """
        now = self.clock()
        done: list[SummaryDeletion] = []
        with self.db.atomic():
            due = list(self.db.query(
                "select p.*, s.referral_id from summary_parts p join summaries s "
                "using (lookup_id) where p.deleted_at is null and p.retain_until is not null "
                "and p.retain_until <= ? order by p.retain_until", [_ts(now)]))
            for part in due:
                stub = _stub(mash_pb2.AgencyResult.FromString(part["result"]))
                self.db.execute("update summary_parts set result = ?, deleted_at = ? "
                                "where lookup_id = ? and position = ?",
                                [stub.SerializeToString(deterministic=True), _ts(now),
                                 part["lookup_id"], part["position"]])
                deletion = SummaryDeletion(
                    referral_id=part["referral_id"], lookup_id=part["lookup_id"],
                    agency=part["agency"], agreement_id=part["agreement_id"],
                    agreement_version=part["agreement_version"],
                    retain_until=_dt(part["retain_until"]), deleted_at=now)
                self.db.table("deletions").insert({
                    "referral_id": deletion.referral_id, "lookup_id": deletion.lookup_id,
                    "agency": deletion.agency, "agreement_id": deletion.agreement_id,
                    "agreement_version": deletion.agreement_version,
                    "retain_until": part["retain_until"], "deleted_at": _ts(now)})
                done.append(deletion)
        # Told after the commit, so the audit log never records a deletion that rolled back.
        if self.on_delete is not None:
            for deletion in done:
                self.on_delete(deletion)
        return done

    def deletions(self, referral_id: str) -> list[SummaryDeletion]:
        """What has been deleted from the referral's summaries under retention."""
        return [SummaryDeletion(d["referral_id"], d["lookup_id"], d["agency"],
                                d["agreement_id"], d["agreement_version"],
                                _dt(d["retain_until"]), _dt(d["deleted_at"]))
                for d in self._rows("deletions", referral_id)]


def _assemble(head: Mapping[str, Any], parts: Iterable[bytes],
              deletions: Iterable[SummaryDeletion]) -> StoredSummary:
    """A kept summary from its header row, its parts in order and the referral's deletions."""
    summary = mash_pb2.ReferralSummary.FromString(head["header"])
    for result in parts:
        summary.agencies.add().ParseFromString(result)
    lookup_id = head["lookup_id"]
    return StoredSummary(head["referral_id"], lookup_id, _dt(head["stored_at"]), summary,
                         tuple(d for d in deletions if d.lookup_id == lookup_id))


#: Reason code on a summary part whose agency data was deleted under retention.
RETENTION_DELETED = "deleted_under_retention"


def _stub(result: mash_pb2.AgencyResult) -> mash_pb2.AgencyResult:
    """The part of `result` that is not agency data: who answered, how, under what agreement."""
    stub = mash_pb2.AgencyResult(
        agency=result.agency, status=result.status, signer_key_id=result.signer_key_id,
        agreement_id=result.agreement_id, agreement_version=result.agreement_version,
        latency_ms=result.latency_ms, disclosure_sha256=result.disclosure_sha256,
        decision=result.decision, data_as_of=result.data_as_of)
    stub.reasons.add(code=RETENTION_DELETED,
                     text=f"deleted under the retention of agreement {result.agreement_id}")
    return stub


def open_store(home: Home, *, clock: Clock = utc_now,
               on_delete: Callable[[SummaryDeletion], None] | None = None) -> SqliteReferralStore:
    """The broker's referral store in `home` (created if missing)."""
    return SqliteReferralStore.in_home(home, clock=clock, on_delete=on_delete)


def subjects_from_specs(specs: Iterable[Mapping[str, str]]) -> tuple[ReferralSubject, ...]:
    """Referral subjects from `role=...,given_name=...` style mappings (ids made per role)."""
    counts: dict[str, int] = {}
    subjects = []
    for spec in specs:
        fields = dict(spec)
        role = parse(SubjectRole, fields.pop("role", ""))
        counts[role.value] = counts.get(role.value, 0) + 1
        subject_id = fields.pop("subject_id", "") or f"{role.value}-{counts[role.value]}"
        subjects.append(ReferralSubject(subject_id, role, fields))
    return tuple(subjects)


__all__: Sequence[str] = (
    "DuplicateReferral", "DuplicateSummary", "NewReferral", "RETENTION_DELETED", "ReferralNotFound",
    "ReferralStore", "RetentionByAgreement", "RetentionRule", "SqliteReferralStore",
    "UnknownRetention", "open_store", "referral_db_path",
    "subjects_from_specs",
)
