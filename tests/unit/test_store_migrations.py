"""Every SQLite store carries a schema version and migrates from each earlier one at open."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agency_adapters.backend import Person, QueryIdentifiers, StoreUnreadable
from agency_adapters.matching.blocking import person_keys
from agency_adapters.sqlite_store import MIGRATIONS as AGENCY_MIGRATIONS
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from audit.checkpoints import Checkpoint
from audit.errors import AuditFormatError
from audit.events import AuditEvent, EventKind
from audit.log import AuditLog
from audit.store import ENTRY_JSON_RFC8785_FROM, INDEXED_FIELDS, PAIRING_INDEXES, SqliteAuditStore, _kind_in
from audit.store import MIGRATIONS as AUDIT_MIGRATIONS
from audit.verify import verify_log
from audit.witness import MIGRATIONS as WITNESS_MIGRATIONS
from audit.witness import Witnessed, WitnessError, WitnessStore
from broker.referrals import MIGRATIONS as REFERRAL_MIGRATIONS
from broker.referrals import SqliteReferralStore
from broker.reviews import MIGRATIONS as REVIEW_MIGRATIONS
from broker.reviews import ReviewStore
from mash.migrations import Migration, SchemaError, SchemaTooNew, migrate, schema_version
from mash.vocab import Category
from tests.unit.audit_helpers import write_log

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


# ---------------------------------------------------------------- the audit log

#: The audit log's tables and append-only triggers, as every version so far made them.
AUDIT_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (id INTEGER PRIMARY KEY, core TEXT NOT NULL, personal TEXT,
    personal_hash BLOB, prev_hash BLOB NOT NULL, entry_hash BLOB NOT NULL);
CREATE TABLE subjects (pseudonym TEXT NOT NULL, entry_id INTEGER NOT NULL,
    PRIMARY KEY (pseudonym, entry_id)) WITHOUT ROWID;
CREATE TABLE checkpoints (tree_size INTEGER PRIMARY KEY, root_hash BLOB NOT NULL,
    timestamp TEXT NOT NULL, key_id TEXT, signature BLOB, frontier TEXT NOT NULL);
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER entries_no_edit
BEFORE UPDATE OF id, core, personal_hash, prev_hash, entry_hash ON entries
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER entries_redact_only BEFORE UPDATE OF personal ON entries
WHEN NEW.personal IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'audit log personal part may only be redacted'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER checkpoints_no_edit BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""
#: The person index filled by a trigger (before it, the writer filled it).
AUDIT_INDEX_TRIGGER = """
CREATE TRIGGER entries_index_subjects AFTER INSERT ON entries WHEN NEW.personal IS NOT NULL
BEGIN INSERT OR IGNORE INTO subjects
      SELECT value, NEW.id FROM json_each(NEW.personal, '$.subject_pseudonyms'); END;
"""
#: The first logs' full expression indexes, one per searchable field.
AUDIT_FIRST_INDEXES = "".join(
    f"CREATE INDEX entries_{n} ON entries(json_extract(core, '$.{n}'));\n"
    for n in ("referral_id", "lookup_id", "query_id", "actor_id", "kind", "agency", "ts"))
#: The search indexes and partial pairing indexes of later logs.
AUDIT_SEARCH_INDEXES = """
CREATE INDEX entries_referral_id ON entries(json_extract(core, '$.referral_id'));
CREATE INDEX entries_actor_id ON entries(json_extract(core, '$.actor_id'));
CREATE INDEX entries_ts ON entries(json_extract(core, '$.ts'));
CREATE INDEX entries_pair_lookup_id ON entries(json_extract(core, '$.lookup_id'))
WHERE json_extract(core, '$.kind') IN ('lookup_completed', 'lookup_requested', 'outcome_unknown');
CREATE INDEX entries_pair_query_id ON entries(json_extract(core, '$.query_id'))
WHERE json_extract(core, '$.kind') IN ('disclosure_sent', 'outcome_unknown', 'query_received',
                                        'query_rejected');
"""
#: Earlier audit logs: (schema version, DDL, whether the writer filled the person index).
AUDIT_EARLIER = {
    "unversioned, first shape": (0, AUDIT_TABLES + AUDIT_FIRST_INDEXES, True),
    "unversioned, last shape": (0, AUDIT_TABLES + AUDIT_INDEX_TRIGGER + AUDIT_SEARCH_INDEXES,
                                False),
    "version 1": (1, AUDIT_TABLES, True),
    "version 2": (2, AUDIT_TABLES + AUDIT_INDEX_TRIGGER, False),
    "version 3": (3, AUDIT_TABLES + AUDIT_INDEX_TRIGGER + AUDIT_SEARCH_INDEXES, False),
}


def _names(db: sqlite3.Connection, kind: str) -> set[str]:
    return {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = ? "
                                     "AND name NOT LIKE 'sqlite_%'", (kind,))}


@pytest.mark.parametrize("earlier", list(AUDIT_EARLIER))
def test_an_audit_log_migrates_from_each_earlier_version(tmp_path: Path, earlier: str) -> None:
    key = Ed25519PrivateKey.generate()
    written = tmp_path / "written.sqlite"
    write_log(written, 23, key=key, checkpoint_every=5)  # the data an earlier version held
    version, ddl, writer_indexed = AUDIT_EARLIER[earlier]
    path = tmp_path / "broker.sqlite"
    conn = _file(path, ddl, version)
    conn.execute("ATTACH ? AS written", (str(written),))
    conn.execute("INSERT INTO meta SELECT * FROM written.meta WHERE key IN ('format', 'owner')")
    conn.execute("INSERT INTO entries SELECT * FROM written.entries")
    conn.execute("INSERT INTO checkpoints SELECT * FROM written.checkpoints")
    if writer_indexed:
        conn.execute("INSERT INTO subjects SELECT * FROM written.subjects")
    conn.commit()
    conn.close()
    assert verify_log(path, checkpoint_public_key=key.public_key()).ok  # readable before

    with AuditLog.open(path, owner="broker", checkpoint_key=key) as log:
        added = log.append(AuditEvent(kind=EventKind.QUERY_SENT, referral_id="R9",
                                      lookup_id="L99", agency="police",
                                      subject_pseudonyms=("p-new",)))
    assert added == 24
    report = verify_log(path, checkpoint_public_key=key.public_key())
    assert report.ok and report.entries == 24
    with sqlite3.connect(path) as db:
        assert schema_version(db) == len(AUDIT_MIGRATIONS) == 4
        assert _names(db, "index") == {"entries_referral_id", "entries_actor_id", "entries_ts",
                                       "entries_pair_lookup_id", "entries_pair_query_id"}
        assert "entries_index_subjects" in _names(db, "trigger")
        (first_rfc8785,) = db.execute("SELECT value FROM meta WHERE key = ?",
                                      (ENTRY_JSON_RFC8785_FROM,)).fetchone()
    assert first_rfc8785 == "24"
    with SqliteAuditStore.open_readonly(path) as store:
        assert store.entry_ids_for(["p0"]) == [1, 6, 11, 16, 21]  # the old entries' index kept
        assert store.entry_ids_for(["p-new"]) == [24]


def test_the_audit_migrations_make_the_indexes_the_queries_use(tmp_path: Path) -> None:
    # The pairing indexes are recorded SQL; the queries spell their WHERE from the code's
    # constants. If those change, a new migration must change the indexes too.
    with AuditLog.open(tmp_path / "a.sqlite", owner="broker"):
        pass
    with sqlite3.connect(tmp_path / "a.sqlite") as db:
        sql = {n: s for n, s in db.execute("SELECT name, sql FROM sqlite_master "
                                           "WHERE type = 'index' AND sql IS NOT NULL")}
    for name in INDEXED_FIELDS:
        assert f"json_extract(core, '$.{name}')" in sql[f"entries_{name}"]
    for name, kinds in PAIRING_INDEXES.items():
        assert " ".join(_kind_in(kinds).split()) in " ".join(sql[f"entries_pair_{name}"].split())


def test_an_audit_log_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broker.sqlite"
    with AuditLog.open(path, owner="broker"):
        pass
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(AuditFormatError, match="newer"):
        SqliteAuditStore.open_readonly(path)
    with pytest.raises(AuditFormatError, match="newer"):
        SqliteAuditStore.create_or_open(path, "broker")


# ---------------------------------------------------------------- the witness store

#: The witness store as files were made before stores carried a version (user_version 0).
WITNESS_UNVERSIONED = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE witnessed (log TEXT NOT NULL, tree_size INTEGER NOT NULL, root_hash BLOB NOT NULL,
    timestamp TEXT NOT NULL, key_id TEXT NOT NULL, signature BLOB NOT NULL,
    witnessed_at TEXT NOT NULL, witness_key_id TEXT NOT NULL, witness_signature BLOB NOT NULL,
    PRIMARY KEY (log, tree_size, root_hash));
CREATE TRIGGER witnessed_no_delete BEFORE DELETE ON witnessed
BEGIN SELECT RAISE(ABORT, 'witness store is append-only'); END;
CREATE TRIGGER witnessed_no_edit BEFORE UPDATE ON witnessed
BEGIN SELECT RAISE(ABORT, 'witness store is append-only'); END;
"""


def _witnessed(size: int) -> Witnessed:
    return Witnessed(Checkpoint("broker-mash-demo", size, bytes([size]) * 32,
                                "2026-07-06T10:00:00+00:00", "kid-b", b"s" * 64),
                     "adapter-police", "2026-07-06T10:00:01+00:00", "kid-w", b"w" * 64)


def test_a_witness_store_from_before_versions_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "adapter-police.sqlite"
    conn = _file(path, WITNESS_UNVERSIONED)
    old = _witnessed(5)
    cp = old.checkpoint
    conn.execute("INSERT INTO meta VALUES ('witness', 'adapter-police')")
    conn.execute("INSERT INTO witnessed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (cp.log, cp.tree_size, cp.root_hash, cp.timestamp, cp.key_id, cp.signature,
                  old.witnessed_at, old.witness_key_id, old.witness_signature))
    conn.commit()
    conn.close()

    store = WitnessStore.create_or_open(path, "adapter-police")
    try:
        assert store.add(_witnessed(9)) is True and store.add(old) is False
        assert list(store.records()) == [old, _witnessed(9)]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store._conn.execute("DELETE FROM witnessed")
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        assert schema_version(db) == len(WITNESS_MIGRATIONS) == 1


def test_a_witness_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    _file(path, WITNESS_UNVERSIONED, 99).close()
    with pytest.raises(WitnessError, match="newer"):
        WitnessStore.open_readonly(path)
    with pytest.raises(WitnessError, match="newer"):
        WitnessStore.create_or_open(path, "adapter-police")


# ---------------------------------------------------------------- the agency demo store

#: The agency demo store's first shape (meta schema "1", no user_version): no links.
AGENCY_FIRST = """
CREATE TABLE "meta" ("key" TEXT PRIMARY KEY, "value" TEXT);
CREATE TABLE "people" ("person_id" TEXT PRIMARY KEY, "given_name" TEXT, "family_name" TEXT,
   "other_names" TEXT, "date_of_birth" TEXT, "sex" TEXT, "postcode" TEXT, "address" TEXT,
   "nhs_number" TEXT, "upn" TEXT);
CREATE TABLE "records" ("record_id" TEXT PRIMARY KEY, "person_id" TEXT, "category" TEXT,
   "occurred_on" TEXT, "summary" TEXT, "attributes" TEXT);
CREATE TABLE blocking (key TEXT NOT NULL, person_id TEXT NOT NULL,
   PRIMARY KEY (key, person_id)) WITHOUT ROWID;
CREATE INDEX records_by_person ON records (person_id, category);
"""
#: Name frequencies, added while the store was still schema "1".
AGENCY_NAME_FREQ = """
CREATE TABLE name_freq (kind TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,
   PRIMARY KEY (kind, name)) WITHOUT ROWID;
"""
#: Schema "2" as built before stores carried a user_version: records of one person linked.
AGENCY_LINKED = AGENCY_FIRST.replace('"upn" TEXT);', '"upn" TEXT, "linked_to" TEXT);') \
    + AGENCY_NAME_FREQ + "CREATE INDEX people_by_link ON people (linked_to) WHERE linked_to != '';\n"
#: Earlier agency stores: (user_version, DDL, meta schema_version).
AGENCY_EARLIER = {
    "unversioned, first shape": (0, AGENCY_FIRST, "1"),
    "unversioned, with name frequencies": (0, AGENCY_FIRST + AGENCY_NAME_FREQ, "1"),
    "unversioned, linked": (0, AGENCY_LINKED, "2"),
    "version 1": (1, AGENCY_FIRST + AGENCY_NAME_FREQ, "1"),
}
AMY = Person("H1", "Amy", "Walker", date_of_birth="2013-06-09", postcode="S7 1AA",
             nhs_number="9434765919")


@pytest.mark.parametrize("earlier", list(AGENCY_EARLIER))
def test_an_agency_store_migrates_from_each_earlier_version(tmp_path: Path, earlier: str) -> None:
    version, ddl, meta_schema = AGENCY_EARLIER[earlier]
    path = tmp_path / "health.sqlite"
    conn = _file(path, ddl, version)
    conn.executemany("INSERT INTO meta VALUES (?, ?)",
                     [("schema_version", meta_schema), ("agency", "health")])
    conn.execute("INSERT INTO people (person_id, given_name, family_name, other_names, "
                 "date_of_birth, sex, postcode, address, nhs_number, upn) "
                 "VALUES ('H1', 'Amy', 'Walker', '', '2013-06-09', 'unknown', 'S7 1AA', '', "
                 "'9434765919', '')")
    if meta_schema == "2":
        conn.execute("UPDATE people SET linked_to = ''")  # as the builder wrote it: nobody
    conn.executemany("INSERT INTO blocking VALUES (?, 'H1')", [(k,) for k in person_keys(AMY)])
    conn.execute("INSERT INTO records VALUES ('r1', 'H1', 'gp_registration', '2026-01-05', "
                 "'Registered with a GP', '{}')")
    conn.commit()
    conn.close()

    with SqliteAgencyStore(path) as store:
        assert store.agency == "health"
        assert store.person("H1") == AMY  # linked to nobody
        assert [p.person_id for p in store.candidates(QueryIdentifiers.of_person(AMY))] == ["H1"]
        assert [r.record_id for r in store.records_for("H1", [Category.GP_REGISTRATION])] == ["r1"]
    with sqlite3.connect(path) as db:
        assert schema_version(db) == len(AGENCY_MIGRATIONS) == 2
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
        assert "people_by_link" in _names(db, "index")


def test_a_new_agency_store_is_built_at_the_newest_version(tmp_path: Path) -> None:
    with StoreWriter(tmp_path / "s.sqlite", "health") as writer:
        writer.add_people([AMY])
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert schema_version(db) == len(AGENCY_MIGRATIONS)


def test_an_agency_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    conn = _file(path, AGENCY_LINKED, 99)
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "2"), ("agency", "health")])
    conn.commit()
    conn.close()
    with pytest.raises(StoreUnreadable, match="newer"):
        SqliteAgencyStore(path)


def test_a_file_that_is_not_an_agency_store_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "reviews.sqlite"
    _file(path, REVIEWS_UNVERSIONED).close()
    with pytest.raises(StoreUnreadable):
        SqliteAgencyStore(path)
    with sqlite3.connect(path) as db:
        assert "people" not in _names(db, "table") and schema_version(db) == 0
