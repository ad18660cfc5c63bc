from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.events import AuditEvent, EventKind
from audit.log import AuditLog, verify_log
from audit.store import SqliteAuditStore
from tests.unit.audit_helpers import FakeClock


def _event(i: int) -> AuditEvent:
    return AuditEvent(kind=EventKind.LOOKUP_REQUESTED, referral_id=f"R{i}", lookup_id=f"L{i}",
                      subject_pseudonyms=(f"person-{i}",), detail={"note": f"n{i}"})


def test_redaction_keeps_the_hashes_so_the_log_still_verifies(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "b.sqlite"
    clock = FakeClock()
    with AuditLog.open(path, owner="broker", checkpoint_key=key, checkpoint_every=3,
                       clock=clock) as log:
        for i in range(4):
            log.append(_event(i))
        cutoff = clock.now
        clock.advance(3600)
        for i in range(4, 6):
            log.append(_event(i))
        redacted = log.redact_before(cutoff.replace(microsecond=1))
    assert redacted == [1, 2, 3, 4]
    report = verify_log(path, checkpoint_public_key=key.public_key())
    assert report.ok, report.problem
    with SqliteAuditStore.open_readonly(path) as store:
        assert store.entry(2).personal is None  # type: ignore[union-attr]
        assert store.entry(5).personal is not None  # type: ignore[union-attr]
        assert store.entry_ids_for(["person-1"]) == []  # no longer findable by person
        assert store.entry_ids_for(["person-5"]) == [6]
        record = store.entry(7).core_dict()  # type: ignore[union-attr]
    assert record["kind"] == "entry_redacted" and record["refers_to"] == [1, 2, 3, 4]


def test_redaction_of_unknown_entries_is_refused(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        log.append(_event(1))
        with pytest.raises(ValueError):
            log.redact([5])


def test_entries_submitted_around_a_redaction_keep_their_order(tmp_path: Path) -> None:
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker") as log:
        log.append(_event(0))
        before = [log.submit(_event(i)) for i in range(1, 50)]
        red = log.redact([1])
        after = [log.submit(_event(i)) for i in range(50, 60)]
        ids_before = [f.result() for f in before]
        ids_after = [f.result() for f in after]
    assert ids_before == list(range(2, 51))
    assert red == 51 and ids_after == list(range(52, 62))
