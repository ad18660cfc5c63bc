import sqlite3
from pathlib import Path

import pytest

from mash.audit.events import AuditEvent, EventKind
from mash.audit.keys import load_checkpoint_key
from mash.audit.log import AuditLog
from mash.cli import main
from mash.home import Home
from tests.unit.audit_helpers import lookup_events


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home.at(tmp_path / "home").ensure()
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
