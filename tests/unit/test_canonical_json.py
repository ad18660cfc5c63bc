"""One canonical JSON (RFC 8785) for what is hashed or signed; what was signed before still verifies."""

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import audit.log
from audit.events import AuditEvent, EventKind
from audit.log import AuditLog, verify_log
from audit.store import ENTRY_JSON_RFC8785_FROM
from mash.canonical import CanonicalizationError, canonical_json
from policy.approval import RECORD_TYPE, ApprovalRecord, verify_record
from tests.unit.audit_helpers import lookup_events


def _previous_json(value: object) -> str:
    """The encoding of audit entries before RFC 8785, verbatim."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _previous_parts(event: AuditEvent, ts: str) -> tuple[str, str | None]:
    core = event.core_dict()
    core["ts"] = ts
    personal = event.personal_dict()
    return _previous_json(core), (_previous_json(personal) if personal is not None else None)


def test_rfc8785_examples() -> None:
    assert canonical_json({"b": [1.0, 1e-7, "é\u2028"], "a": {"z": None, "y": True}}) == \
        '{"a":{"y":true,"z":null},"b":[1,1e-7,"é\u2028"]}'
    assert canonical_json({"\U0001f600": 1, "\ufb01": 2}) == '{"\U0001f600":1,"\ufb01":2}'
    with pytest.raises(CanonicalizationError):
        canonical_json({"a": float("nan")})


def test_a_log_written_with_the_previous_encoding_still_verifies_and_grows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "broker.sqlite"
    timed = AuditEvent(kind=EventKind.LOOKUP_COMPLETED, lookup_id="L1", latency_ms=12.0)
    monkeypatch.setattr(audit.log, "canonical_parts", _previous_parts)
    with AuditLog.open(path, owner="broker", checkpoint_key=key) as log:
        before = [log.append(e) for e in [*lookup_events("R1", "L1"), timed]]
    with sqlite3.connect(path) as db:  # the previous version kept no such note, nor a version
        db.execute("DELETE FROM meta WHERE key = ?", (ENTRY_JSON_RFC8785_FROM,))
        db.execute("PRAGMA user_version = 0")
    monkeypatch.undo()
    assert verify_log(path, checkpoint_public_key=key.public_key()).ok

    with AuditLog.open(path, owner="broker", checkpoint_key=key) as log:
        after = log.append(timed)
    report = verify_log(path, checkpoint_public_key=key.public_key())
    assert report.ok and report.entries == len(before) + 1
    with sqlite3.connect(path) as db:
        cores = dict(db.execute("SELECT id, core FROM entries WHERE id IN (?, ?)",
                                (before[-1], after)).fetchall())
        (first_rfc8785,) = db.execute("SELECT value FROM meta WHERE key = ?",
                                      (ENTRY_JSON_RFC8785_FROM,)).fetchone()
    assert '"latency_ms":12.0' in cores[before[-1]] and '"latency_ms":12,' in cores[after]
    assert int(first_rfc8785) == after


def test_an_approval_signed_with_the_previous_encoding_still_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    fields = {"type": RECORD_TYPE, "agreement_id": "police-mash-dsa", "agreement_sha256": "ab" * 32,
              "approver": "ig-lead", "approved_at": "2026-03-29T01:30:00+00:00"}
    previous = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    record = ApprovalRecord(fields["agreement_id"], fields["agreement_sha256"], fields["approver"],
                            fields["approved_at"], key.sign(previous))
    assert record.signed_bytes() == previous
    assert verify_record(record, {"ig-lead": key.public_key()}).approver == "ig-lead"
