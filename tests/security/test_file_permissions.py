"""Files under a home are the owner's only (threat: another local account reads the databases,
their WAL/SHM files, the audit and application logs or a report holding personal data)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from broker.client import BrokerClient
from mash.app.cli import main
from mash.home import Home
from tests.integration.helpers import demo_subjects, red_request

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]


def _open_to_others(root: Path) -> list[str]:
    """Every folder not 0700 and every file not 0600 (or tighter) under `root`."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            mode = stat.S_IMODE((Path(folder) / name).stat().st_mode)
            if mode != 0o700:
                found.append(f"{Path(folder, name).relative_to(root)}/ {mode:o}")
        for name in files:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                found.append(f"{path.relative_to(root)} {mode:o}")
    return found


def test_every_database_log_and_folder_under_a_working_home_is_private(
        home: Home, client: BrokerClient) -> None:
    client.lookup(red_request("REF-SEC-PERM-1", demo_subjects(home)))
    wal = list(home.audit_dir.glob("*.sqlite-wal"))
    assert wal, "the running services' audit logs have WAL files to check"
    assert (home.root / "broker").is_dir() and list(home.log_dir.iterdir())
    assert _open_to_others(home.root) == []


def test_a_sar_report_written_to_disk_is_private(home: Home, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sar-out"
    previous = os.umask(0o022)  # an IG lead's shell with the usual, permissive mask
    try:
        assert main(["audit", "sar", "--home", str(home.root), "--nhs-number", "9434765919",
                     "--out", str(out)]) == 0
    finally:
        os.umask(previous)
    assert _open_to_others(out) == []
    assert {p.name for p in out.iterdir()} == {"sar.json", "sar.html"}


def test_a_home_left_open_by_an_earlier_version_is_closed_when_prepared(tmp_path: Path) -> None:
    root = tmp_path / "old-home"
    (root / "broker").mkdir(parents=True, mode=0o755)
    (root / "broker").chmod(0o755)
    db = root / "broker" / "referrals.sqlite"
    db.write_bytes(b"")
    db.chmod(0o644)
    Home.at(root).ensure()
    assert _open_to_others(root) == []
