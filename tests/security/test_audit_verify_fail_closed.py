"""`mash audit verify` fails closed (threat: an insider makes the IG lead's check pass by
removing what it checks against -- the home, the logs, the trust store -- or by leaving a key
of their own next to a log they rewrote)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.keys import checkpoint_key_path, load_checkpoint_key
from mash.app.cli import main
from mash.home import Home
from tests.security.audit_attacks import rewrite_and_resign
from tests.unit.audit_helpers import pin_checkpoint_keys, write_log


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home.at(tmp_path / "home").ensure()
    pin_checkpoint_keys(home, ("broker",))
    write_log(home.audit_log("broker"), 12, key=load_checkpoint_key(home, "broker"))
    return home


def verify(home: Home | Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    root = home.root if isinstance(home, Home) else home
    code = main(["audit", "verify", "--home", str(root)])
    return code, capsys.readouterr().out


def test_an_intact_home_verifies(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(home, capsys)[0] == 0


def test_a_missing_home_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = verify(tmp_path / "nowhere", capsys)
    assert code == 1 and "FAILED: no mash home at" in out


def test_a_home_with_no_logs_fails(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    for f in home.audit_dir.iterdir():
        f.unlink()
    code, out = verify(home, capsys)
    assert code == 1 and "FAILED: no audit logs under" in out


def test_a_missing_trust_store_fails(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.trust_store.unlink()
    code, out = verify(home, capsys)
    assert code == 1 and "FAILED: no trust store at" in out and "OK" not in out


def test_an_unreadable_trust_store_fails(home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    home.trust_store.write_text("[[key]\nowner = ", encoding="utf-8")
    code, out = verify(home, capsys)
    assert code == 1 and "cannot be read" in out and "OK" not in out


def test_a_malformed_trust_store_fails_naming_the_field(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """A pin with a field missing is not read around: the whole store is refused."""
    text = home.trust_store.read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line.startswith("not_before"))
    home.trust_store.write_text(text.replace(first + "\n", "", 1), encoding="utf-8")
    code, out = verify(home, capsys)
    assert code == 1 and "cannot be read" in out and "not_before" in out and "OK" not in out


def test_a_rewritten_log_resigned_with_a_key_left_beside_it_fails(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    """The insider rewrites every entry, re-signs the checkpoints with a key of their own and
    puts that key where the owner's key file was: only the pinned key counts."""
    path = home.audit_log("broker")
    forger = Ed25519PrivateKey.generate()
    rewrite_and_resign(path, forger)
    key_file = checkpoint_key_path(home, "broker")
    key_file.write_bytes(forger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    code, out = verify(home, capsys)
    assert code == 1 and "FAIL broker.sqlite" in out and "not signed by a published" in out


def test_a_log_whose_owner_has_no_pinned_key_fails(
        home: Home, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(home.audit_log("intruder"), 3, owner="intruder",
              key=Ed25519PrivateKey.generate())
    code, out = verify(home, capsys)
    assert code == 1 and "no checkpoint key for audit-intruder pinned" in out
