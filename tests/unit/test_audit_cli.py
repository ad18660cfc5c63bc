import sqlite3
from pathlib import Path

import pytest

from audit.events import AuditEvent, EventKind
from audit.keys import load_checkpoint_key
from audit.log import AuditLog
from mash.app.cli import main
from mash.home import Home
from tests.unit.audit_helpers import lookup_events, pin_checkpoint_keys


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home.at(tmp_path / "home").ensure()
    pin_checkpoint_keys(home, ("broker", "adapter-police"))
    for owner in ("broker", "adapter-police"):
        key = load_checkpoint_key(home, owner, create=True)
        with AuditLog.open(home.audit_log(owner), owner=owner, checkpoint_key=key) as log:
            if owner == "broker":
                for e in lookup_events("REF-7", "LK-1"):
                    log.append(e)
            log.append(AuditEvent(kind=EventKind.QUERY_RECEIVED, referral_id="REF-7",
                                  query_id="LK-1-police", agency="police"))
            log.append(AuditEvent(kind=EventKind.QUERY_RECEIVED, referral_id="OTHER",
                                  query_id="x", agency="police"))
    return home


def test_verify_passes_on_intact_logs(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    assert "OK   broker.sqlite" in out and "OK   adapter-police.sqlite" in out


def test_verify_fails_naming_the_first_bad_entry(home: Home,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(home.audit_log("broker"), isolation_level=None)
    conn.execute("DROP TRIGGER entries_no_edit")
    conn.execute("UPDATE entries SET core = replace(core, 'red', 'green') WHERE id = 1")
    conn.close()
    assert main(["audit", "verify", "--home", str(home.root)]) == 1
    out = capsys.readouterr().out
    assert "FAIL broker.sqlite: entry 1:" in out
    assert "first bad entry: broker.sqlite entry 1" in out


def test_show_lists_one_referral_across_logs(home: Home,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "--referral", "REF-7", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    assert "lookup_requested" in out and "query_received" in out and "adapter-police" in out
    assert "OTHER" not in out


def test_show_json(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    assert main(["audit", "show", "--referral", "REF-7", "--format", "json",
                 "--home", str(home.root)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["referral_id"] for r in rows} == {"REF-7"} and len(rows) == 8


def test_verify_uses_the_keys_pinned_in_the_trust_store(home: Home,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from certs.truststore import PinnedKey, TrustStore, key_id_of

    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw,
                                                                   PublicFormat.Raw)
    now = datetime.now(UTC)
    TrustStore().with_key(PinnedKey(
        key_id=key_id_of(other), owner="audit-broker", purpose="audit-checkpoint",
        public_key=other, not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=1))).save(home.trust_store)
    # The broker's checkpoints are signed by the key in the home, not the pinned one.
    assert main(["audit", "verify", "--home", str(home.root)]) == 1
    assert "not signed by a published checkpoint key" in capsys.readouterr().out


def test_retention_cli_redacts_and_logs_still_verify(home: Home,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "retention", "--older-than-days", "0", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    assert "broker: redacted the personal part of 1 entries" in out
    assert main(["audit", "verify", "--home", str(home.root)]) == 0


def test_retention_skips_a_log_in_use(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    with AuditLog.open(home.audit_log("broker"), owner="broker"):
        assert main(["audit", "retention", "--older-than-days", "0",
                     "--home", str(home.root)]) == 0
    assert "broker.sqlite: in use" in capsys.readouterr().out


def test_no_logs_fails_closed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = Home.at(tmp_path).ensure()
    pin_checkpoint_keys(home, ("broker",))
    assert main(["audit", "verify", "--home", str(tmp_path)]) == 1
    assert "FAILED: no audit logs" in capsys.readouterr().out


def test_published_checkpoints_catch_a_truncation_that_removed_checkpoints_too(
        home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["audit", "checkpoints", "--home", str(home.root)]) == 0
    published = tmp_path / "published.json"
    published.write_text(capsys.readouterr().out)
    conn = sqlite3.connect(home.audit_log("broker"), isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                ).fetchall():
        conn.execute(f'DROP TRIGGER "{name}"')
    conn.execute("DELETE FROM entries WHERE id > 3")
    conn.execute("DELETE FROM subjects WHERE entry_id > 3")
    conn.execute("DELETE FROM checkpoints")
    conn.close()
    assert main(["audit", "verify", "--home", str(home.root)]) == 0  # locally consistent
    capsys.readouterr()
    assert main(["audit", "verify", "--home", str(home.root), "--checkpoint",
                 str(published)]) == 1
    assert "truncated" in capsys.readouterr().out
