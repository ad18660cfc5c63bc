"""Witnessed checkpoints (threat: a host that holds its own checkpoint key rewrites its whole
log and re-signs it, cuts off its tail together with its checkpoints, drops a checkpoint, shows
two histories, or forges a redaction record -- and `mash audit verify` still says OK)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.checkpoints import Checkpoint, sign_checkpoint
from audit.keys import load_checkpoint_key
from audit.log import AuditLog
from audit.store import SqliteAuditStore
from audit.witness import Witness, pinned_from
from certs.truststore import TrustStore
from mash.app.cli import main
from mash.home import Home
from tests.security.audit_attacks import (
    append_unsigned,
    cut_tail,
    raw,
    rewrite_and_resign,
    strip_personal,
)
from tests.unit.audit_helpers import pin_checkpoint_keys, write_log

BROKER, POLICE = "broker-mash-x", "adapter-police"


def _key(home: Home, owner: str) -> Ed25519PrivateKey:
    key = load_checkpoint_key(home, owner)
    assert key is not None
    return key


def _witness(home: Home, owner: str) -> Witness:
    return Witness.open(home.witness_dir / f"{owner}.sqlite", owner=owner, key=_key(home, owner),
                        pinned_keys=pinned_from(TrustStore.load(home.trust_store)))


def _checkpoints(path: Path) -> list[Checkpoint]:
    with SqliteAuditStore.open_readonly(path) as store:
        return [sc.checkpoint for sc in store.checkpoints()]


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """A broker and a police adapter log, each witnessed by the other."""
    home = Home.at(tmp_path / "home").ensure()
    pin_checkpoint_keys(home, (BROKER, POLICE))
    for owner in (BROKER, POLICE):
        write_log(home.audit_log(owner), 30, key=_key(home, owner), owner=owner)
    broker, police = _witness(home, BROKER), _witness(home, POLICE)
    for cp in _checkpoints(home.audit_log(POLICE)):
        assert broker.observe(cp, expected_log=POLICE)
    for cp in _checkpoints(home.audit_log(BROKER)):
        assert police.observe(cp, expected_log=BROKER)
    broker.close()
    police.close()
    return home


def verify(home: Home, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "verify", "--home", str(home.root)])
    return code, capsys.readouterr().out


def test_witnessed_logs_verify_and_say_so(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = verify(home, capsys)
    assert code == 0, out
    assert "OK   adapter-police.sqlite: 30 entries, 3 checkpoints, 3 witnessed" in out


def test_a_log_rewritten_and_resigned_with_its_own_key_fails(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    rewrite_and_resign(home.audit_log(POLICE), _key(home, POLICE))
    code, out = verify(home, capsys)
    assert code == 1 and "FAIL adapter-police.sqlite" in out and "rewritten" in out


def test_a_tail_cut_off_with_its_checkpoints_fails(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    cut_tail(home.audit_log(BROKER), keep=15)
    code, out = verify(home, capsys)
    assert code == 1 and "FAIL broker-mash-x.sqlite" in out and "truncated" in out


def test_a_witnessed_checkpoint_dropped_from_the_log_fails(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    conn = raw(home.audit_log(POLICE))
    conn.execute("DELETE FROM checkpoints WHERE tree_size = 20")
    conn.close()
    code, out = verify(home, capsys)
    assert code == 1 and "witnessed by another party is missing from the log" in out


def test_a_missing_log_of_a_service_configured_here_fails(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    (home.config_dir / f"{POLICE}.toml").write_text("", encoding="utf-8")
    for f in home.audit_dir.glob(f"{POLICE}.sqlite*"):
        f.unlink()
    code, out = verify(home, capsys)
    assert code == 1 and f"MISSING {POLICE}.sqlite" in out


def test_a_forged_witness_record_fails(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(home.witness_dir / f"{BROKER}.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER witnessed_no_edit")
    conn.execute("UPDATE witnessed SET witnessed_at = '2020-01-01T00:00:00.000000Z'")
    conn.close()
    code, out = verify(home, capsys)
    assert code == 1 and "countersignature" in out


def test_two_histories_shown_to_two_parties_fail(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """The owner signs a second root for a size already witnessed: the witness keeps both."""
    first = _checkpoints(home.audit_log(POLICE))[-1]
    other = sign_checkpoint(Checkpoint(POLICE, first.tree_size, bytes(32), first.timestamp),
                            _key(home, POLICE))
    broker = _witness(home, BROKER)
    assert broker.observe(other, expected_log=POLICE)
    broker.close()
    code, out = verify(home, capsys)
    assert code == 1 and "FAIL adapter-police.sqlite" in out


def test_the_witness_keeps_only_validly_signed_checkpoints_of_its_peer(home: Home) -> None:
    broker = _witness(home, BROKER)
    cp = _checkpoints(home.audit_log(POLICE))[-1]
    bigger = Checkpoint(POLICE, cp.tree_size + 5, cp.root_hash, cp.timestamp)
    assert not broker.observe(bigger, expected_log=POLICE)  # unsigned
    forged = sign_checkpoint(bigger, Ed25519PrivateKey.generate())
    assert not broker.observe(forged, expected_log=POLICE)  # not the pinned key
    own = sign_checkpoint(bigger, _key(home, BROKER))
    assert not broker.observe(own, expected_log=POLICE)  # the broker's key, not police's
    assert not broker.observe(sign_checkpoint(Checkpoint(BROKER, 99, bytes(32), "t"),
                                              _key(home, BROKER)), expected_log=POLICE)
    broker.close()


def test_a_forged_redaction_record_fails(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """Anyone who can write the file strips an entry's pseudonyms (so a SAR no longer finds
    it) and appends a redaction record for it: no signed checkpoint covers that record."""
    path = home.audit_log(POLICE)
    strip_personal(path, 3)
    append_unsigned(path, {"kind": "entry_redacted", "reasons": ["retention_expired"],
                           "refers_to": [3], "ts": "2026-12-06T09:00:00.000000Z"})
    code, out = verify(home, capsys)
    assert code == 1 and "redaction record not covered by a signed checkpoint" in out


def test_a_redaction_record_naming_a_later_entry_fails(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    path = home.audit_log(POLICE)
    forged = append_unsigned(path, {"kind": "entry_redacted", "refers_to": [40],
                                    "ts": "2026-12-06T09:00:00.000000Z"})
    code, out = verify(home, capsys)
    assert code == 1 and f"entry {forged}: redaction record names a later entry" in out


def test_a_real_redaction_still_verifies(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    path = home.audit_log(POLICE)
    with AuditLog.open(path, owner=POLICE, checkpoint_key=_key(home, POLICE)) as log:
        log.redact([3, 4])
    code, out = verify(home, capsys)
    assert code == 0, out
