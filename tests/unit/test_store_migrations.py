"""Every SQLite store carries a schema version and migrates from each earlier one at open."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broker.referrals import MIGRATIONS as REFERRAL_MIGRATIONS
from broker.referrals import SqliteReferralStore
from broker.reviews import MIGRATIONS as REVIEW_MIGRATIONS
from broker.reviews import ReviewStore
from mash.migrations import Migration, SchemaError, SchemaTooNew, migrate, schema_version

#: The review store as files were made before stores carried a version (user_version 0).
REVIEWS_UNVERSIONED = """
CREATE TABLE "reviews" ("review_id" TEXT PRIMARY KEY, "status" TEXT, "referral_id" TEXT,
   "requested_at" TEXT, "review" BLOB, "request" BLOB);
CREATE INDEX "idx_reviews_status_requested_at" ON "reviews" ("status", "requested_at");
CREATE INDEX "idx_reviews_referral_id" ON "reviews" ("referral_id");
"""

#: The referral store as files were made before stores carried a version (user_version 0):
#: times kept with the offset they were given, and (once a lookup was filed) the referral
#: flow's own lookup_context table.
REFERRALS_UNVERSIONED = """
CREATE TABLE "referrals" ("referral_id" TEXT PRIMARY KEY, "received_at" TEXT, "source" TEXT,
   "reason" TEXT, "subjects" TEXT);
CREATE TABLE "rag_changes" ("seq" INTEGER PRIMARY KEY,
   "referral_id" TEXT REFERENCES "referrals"("referral_id"), "rag" TEXT, "at" TEXT, "by" TEXT,
   "reason" TEXT);
CREATE INDEX "idx_rag_changes_referral_id" ON "rag_changes" ("referral_id");
CREATE TABLE "status_changes" ("seq" INTEGER PRIMARY KEY,
   "referral_id" TEXT REFERENCES "referrals"("referral_id"), "status" TEXT, "at" TEXT,
   "by" TEXT, "note" TEXT);
CREATE INDEX "idx_status_changes_referral_id" ON "status_changes" ("referral_id");
CREATE TABLE "decisions" ("seq" INTEGER PRIMARY KEY,
   "referral_id" TEXT REFERENCES "referrals"("referral_id"), "level_of_need" TEXT,
   "outcome" TEXT, "rationale" TEXT, "by" TEXT, "at" TEXT);
CREATE INDEX "idx_decisions_referral_id" ON "decisions" ("referral_id");
CREATE TABLE "edits" ("seq" INTEGER PRIMARY KEY,
   "referral_id" TEXT REFERENCES "referrals"("referral_id"), "at" TEXT, "by" TEXT,
   "change" TEXT, "note" TEXT);
CREATE INDEX "idx_edits_referral_id" ON "edits" ("referral_id");
CREATE TABLE "summaries" ("lookup_id" TEXT PRIMARY KEY,
   "referral_id" TEXT REFERENCES "referrals"("referral_id"), "stored_at" TEXT, "header" BLOB);
CREATE INDEX "idx_summaries_referral_id" ON "summaries" ("referral_id");
CREATE TABLE "summary_parts" ("lookup_id" TEXT REFERENCES "summaries"("lookup_id"),
   "position" INTEGER, "agency" TEXT, "agreement_id" TEXT, "agreement_version" TEXT,
   "retain_until" TEXT, "deleted_at" TEXT, "result" BLOB NOT NULL,
   PRIMARY KEY ("lookup_id", "position"));
CREATE INDEX "idx_summary_parts_retain_until" ON "summary_parts" ("retain_until");
CREATE TABLE "deletions" ("seq" INTEGER PRIMARY KEY, "referral_id" TEXT, "lookup_id" TEXT,
   "agency" TEXT, "agreement_id" TEXT, "agreement_version" TEXT, "retain_until" TEXT,
   "deleted_at" TEXT);
CREATE INDEX "idx_deletions_referral_id" ON "deletions" ("referral_id");
"""
LOOKUP_CONTEXT_UNVERSIONED = """
CREATE TABLE [lookup_context] ([lookup_id] TEXT PRIMARY KEY, [referral_id] TEXT, [at] TEXT,
   [purpose] TEXT, [gateway] TEXT, [consent_state] TEXT, [consent_reason] TEXT);
"""


def _file(path: Path, script: str, version: int = 0) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    return conn


def _add_referral(conn: sqlite3.Connection, rid: str, received_at: str) -> None:
    conn.execute("INSERT INTO referrals VALUES (?, ?, 'police', 'worry', '[]')", (rid, received_at))
    conn.execute("INSERT INTO rag_changes (referral_id, rag, at, by, reason) "
                 "VALUES (?, 'red', ?, 'sw-1', 'initial')", (rid, received_at))
    conn.execute("INSERT INTO status_changes (referral_id, status, at, by, note) "
                 "VALUES (?, 'screening', ?, 'sw-1', '')", (rid, received_at))
    conn.commit()


def test_a_review_file_from_before_versions_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "reviews.sqlite"
    conn = _file(path, REVIEWS_UNVERSIONED)
    conn.execute("INSERT INTO reviews VALUES ('rv-1', 'pending', 'R1', 't', x'', x'')")
    conn.commit()
    conn.close()
    ReviewStore(path)
    with sqlite3.connect(path) as db:
        assert schema_version(db) == len(REVIEW_MIGRATIONS)
        assert db.execute("SELECT review_id FROM reviews").fetchall() == [("rv-1",)]


@pytest.mark.parametrize("earlier", [0, 1, 2])
def test_a_referral_file_migrates_from_each_earlier_version(tmp_path: Path, earlier: int) -> None:
    path = tmp_path / "referrals.sqlite"
    script = REFERRALS_UNVERSIONED + (LOOKUP_CONTEXT_UNVERSIONED if earlier != 1 else "")
    conn = _file(path, script, earlier)
    # 10:30 BST is 09:30 UTC: as text it sorted after 10:00 UTC, which came later
    _add_referral(conn, "R-BST", "2026-07-06T10:30:00+01:00")
    _add_referral(conn, "R-UTC", "2026-07-06T10:00:00+00:00")
    if earlier != 1:
        conn.execute("INSERT INTO lookup_context VALUES ('LK-1', 'R-BST', "
                     "'2026-07-06T10:40:00+00:00', 'child_protection_enquiry', "
                     "'children_act_1989_s47', 'not_sought', 'risk_of_harm')")
        conn.commit()
    conn.close()

    store = SqliteReferralStore(path)
    try:
        assert schema_version(store.db.conn) == len(REFERRAL_MIGRATIONS) == 3
        assert [r.referral_id for r in store.referrals()] == ["R-BST", "R-UTC"]
        assert store.get("R-BST").received_at == datetime(2026, 7, 6, 9, 30, tzinfo=UTC)
        (stored,) = store.db.conn.execute(
            "SELECT received_at FROM referrals WHERE referral_id = 'R-BST'").fetchone()
        assert stored == "2026-07-06T09:30:00+00:00"
        terms = store.latest_lookup_terms("R-BST")
        assert (terms is None) == (earlier == 1)
        store.save_lookup_terms("LK-2", "R-BST", datetime(2026, 7, 7, tzinfo=UTC), {
            "purpose": "child_in_need_assessment", "gateway": "children_act_1989_s17",
            "consent_state": "given"})
        assert store.latest_lookup_terms("R-BST") == {
            "purpose": "child_in_need_assessment", "gateway": "children_act_1989_s17",
            "consent_state": "given", "consent_reason": ""}
    finally:
        store.close()


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    _file(tmp_path / "reviews.sqlite", REVIEWS_UNVERSIONED, 99).close()
    with pytest.raises(SchemaTooNew):
        ReviewStore(tmp_path / "reviews.sqlite")


def test_a_failing_migration_leaves_the_last_version_reached(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.sqlite", isolation_level=None)

    def fail(c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE half (x)")
        raise RuntimeError("disk on fire")

    steps = [Migration(1, "a", "CREATE TABLE a (x)"), Migration(2, "b", fail)]
    with pytest.raises(RuntimeError):
        migrate(conn, steps, store="x")
    assert schema_version(conn) == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchall() == []
    assert migrate(conn, steps[:1], store="x") == 1
    with pytest.raises(SchemaError):
        migrate(conn, [Migration(2, "gap", "")], store="x")
