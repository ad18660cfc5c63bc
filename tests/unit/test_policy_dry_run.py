"""`mash policy dry-run`: replay recorded requests against a draft."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from audit.events import AuditEvent, EventKind
from audit.log import AuditLog
from policy import SHIPPED_POLICY_DIR, InvalidRequest, PolicyEngine
from policy.dry_run import (
    broker_logs,
    dry_run,
    parse_since,
    read_broker_audit,
    read_jsonl,
    read_sqlite_events,
)
from tests.policy_helpers import BASE, NOW, copy_shipped


@pytest.fixture(scope="module")
def current() -> PolicyEngine:
    return PolicyEngine.load_assuming_approval(SHIPPED_POLICY_DIR)


def _draft(tmp_path: Path) -> PolicyEngine:
    d = copy_shipped(tmp_path)
    police = d / "police.toml"
    police.write_text(police.read_text().replace(
        'reasons = ["risk_of_significant_harm", "prejudice_to_crime_investigation", '
        '"undue_delay"]\ndecision = "PERMIT"',
        'reasons = ["risk_of_significant_harm"]\ndecision = "PERMIT"'))
    return PolicyEngine.load_assuming_approval(d)


def test_parse_since() -> None:
    assert parse_since("30d") == timedelta(days=30)
    assert parse_since("12h") == timedelta(hours=12)
    with pytest.raises(InvalidRequest):
        parse_since("a month")


def test_lists_only_decisions_that_would_change(tmp_path: Path, current: PolicyEngine) -> None:
    unchanged = BASE.to_json()
    changed = dict(BASE.to_json(), consent={"state": "not_sought", "reason": "undue_delay"})
    old = dict(changed, at=(NOW - timedelta(days=40)).isoformat())
    records = [("r1", unchanged), ("r2", changed), ("r3", old), ("r4", {"agency": "fire"})]
    report = dry_run(records, _draft(tmp_path), current=current, since=NOW - timedelta(days=30))
    assert report.replayed == 2
    assert [c.source for c in report.changes] == ["r2"]
    assert report.changes[0].before.startswith("PERMIT") and report.changes[0].after == "DENY"
    assert len(report.skipped) == 1 and report.skipped[0].startswith("r4")


def test_recorded_decision_is_the_baseline(tmp_path: Path, current: PolicyEngine) -> None:
    record = {"request": BASE.to_json(), "decision": "DENY"}
    report = dry_run([("x", record)], PolicyEngine.load_assuming_approval(SHIPPED_POLICY_DIR),
                     current=current)
    assert [(c.before, c.after.split()[0]) for c in report.changes] == [("DENY", "PERMIT")]


def test_reads_jsonl_export(tmp_path: Path, current: PolicyEngine) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text(json.dumps(BASE.to_json()) + "\n\n")
    assert [s for s, _ in read_jsonl(export)] == ["export.jsonl:1"]


def test_scans_policy_decision_events_from_any_sqlite_file(tmp_path: Path,
                                                              current: PolicyEngine) -> None:
    log = tmp_path / "broker.sqlite"
    con = sqlite3.connect(log)
    con.execute("CREATE TABLE events (seq INTEGER, kind TEXT, body TEXT)")
    event = {"agency": "police", "purpose": "child_protection_enquiry",
             "statutory_gateway": "children_act_1989_s47", "rag": "red",
             "consent_state": "not_sought", "consent_reason": "undue_delay",
             "actor_role": "mash_social_worker", "actor_id": "sw-1", "decision": "PERMIT",
             "time": NOW.isoformat()}
    con.execute("INSERT INTO events VALUES (1, 'policy_decision', ?)", (json.dumps(event),))
    con.execute("INSERT INTO events VALUES (2, 'query_sent', '{}')")
    con.commit()
    con.close()
    records = list(read_sqlite_events(log))
    assert len(records) == 1
    report = dry_run(records, _draft(tmp_path), current=current)
    assert report.replayed == 1 and report.changes[0].after == "DENY"


def test_reads_the_broker_audit_log(tmp_path: Path, current: PolicyEngine) -> None:
    log_path = tmp_path / "audit" / "broker-mash-demo.sqlite"
    with AuditLog.open(log_path, owner="broker-mash-demo", clock=lambda: NOW) as log:
        log.append(AuditEvent(
            kind=EventKind.POLICY_DECISION, actor_id="sw-1", actor_role="mash_social_worker",
            purpose="child_protection_enquiry", statutory_gateway="children_act_1989_s47",
            rag="red", consent_state="not_sought", consent_reason="undue_delay",
            agency="police", decision="PERMIT", categories=("domestic_abuse_incidents",)))
        log.append(AuditEvent(kind=EventKind.QUERY_SENT, agency="police"))
    assert broker_logs(tmp_path / "audit") == [log_path]
    records = list(read_broker_audit(log_path))
    assert len(records) == 1 and records[0][1]["mash_id"] == "mash-demo"
    report = dry_run(records, _draft(tmp_path), current=current,
                     since=NOW - timedelta(days=30))
    assert report.replayed == 1 and report.changes[0].after == "DENY"
