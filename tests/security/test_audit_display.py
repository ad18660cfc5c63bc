"""What the IG lead's terminal shows of a log cannot be steered by the log's content (threat:
a caller or an insider puts newlines or terminal escape sequences into a logged field, so that
`mash audit search`/`show` prints a fake entry, or erases or recolours a real one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.events import AuditEvent, EventKind
from audit.keys import load_checkpoint_key
from audit.log import AuditLog
from audit.reading import printable
from mash.app.cli import main
from mash.home import Home
from tests.unit.audit_helpers import pin_checkpoint_keys

FAKE_LINE = "\n2026-12-06 09:00:00.000  broker  #2  lookup_completed  outcome=completed"
HOSTILE = ("REF-9" + FAKE_LINE + "\x1b[2K\x1b[1A\r\x08\x9b2J\u202edesrever\u2028x")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home.at(tmp_path / "home").ensure()
    pin_checkpoint_keys(home, ("broker",))
    with AuditLog.open(home.audit_log("broker"), owner="broker",
                       checkpoint_key=load_checkpoint_key(home, "broker")) as log:
        log.append(AuditEvent(kind=EventKind.QUERY_REJECTED, referral_id=HOSTILE,
                              actor_id=HOSTILE, agency="police", reasons=(HOSTILE,),
                              outcome="rejected"))
    return home


def _assert_inert(out: str, lines: int) -> None:
    assert len(out.splitlines()) == lines, out
    assert not any(c in out for c in "\x1b\r\x08\x9b\u202e\u2028")
    assert "\\n2026-12-06 09:00:00.000" in out  # shown, escaped, on the same line


@pytest.mark.parametrize("command", [
    ["audit", "search"], ["audit", "search", "--format", "csv"],
    ["audit", "show", "--referral", HOSTILE]])
def test_log_content_cannot_start_a_line_or_move_the_cursor(
        home: Home, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    expected = {"search": 2, "show": 3}[command[1]]
    _assert_inert(out, expected)


def test_json_output_keeps_the_text_exactly_and_inert(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "search", "--format", "json", "--home", str(home.root)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\r\x08\x9b\u202e\u2028")
    assert json.loads(out)[0]["actor_id"] == HOSTILE


def test_a_hostile_owner_name_cannot_fake_a_verify_result(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3
    conn = sqlite3.connect(home.audit_log("broker"), isolation_level=None)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'owner'",
                 ("x\nOK   broker.sqlite: 1 entries\naudit verify: all 1 logs intact",))
    conn.close()
    assert main(["audit", "verify", "--home", str(home.root)]) == 1
    out = capsys.readouterr().out
    assert "\nOK   broker.sqlite" not in out and "\naudit verify: all" not in out


def test_printable_escapes_unambiguously() -> None:
    assert printable("a\\nb") == "a\\\\nb"  # a literal backslash-n is not a newline's escape
    assert printable("a\nb") == "a\\nb"
    assert printable("plain text, accents é and ·") == "plain text, accents é and ·"
