"""`mash audit verify` over real logs written by real processes."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import pytest

from broker.client import BrokerClient
from mash.home import Home
from tests.integration.helpers import demo_subjects, red_request

pytestmark = pytest.mark.integration


def _verify(home: Home) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mash.app", "audit", "verify", "--home",
                           str(home.root)], capture_output=True, text=True, timeout=120)


def test_audit_verify_passes_then_detects_an_edited_row(
    home: Home, client: BrokerClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    client.lookup(red_request("REF-IT-AUDIT", demo_subjects(home)))
    # work on a copy so the running services' logs stay intact for other tests
    copy = Home.at(tmp_path_factory.mktemp("audit-copy"))
    shutil.copytree(home.audit_dir, copy.audit_dir)
    shutil.copytree(home.pki_dir, copy.pki_dir)
    assert _verify(copy).returncode == 0, _verify(copy).stdout

    log = copy.audit_log("broker-mash-demo")
    con = sqlite3.connect(log)
    # an attacker with write access to the file drops the append-only triggers first
    for (trigger,) in con.execute("select name from sqlite_master where type='trigger'").fetchall():
        con.execute(f"drop trigger '{trigger}'")
    table, col, rowid = _a_row_mentioning(con, "REF-IT-AUDIT")
    con.execute(f"update '{table}' set {col} = replace({col}, 'REF-IT-AUDIT', 'REF-IT-AUDIX') "
                f"where rowid = ?", (rowid,))
    con.commit()
    con.close()

    result = _verify(copy)
    assert result.returncode != 0
    assert "broker-mash-demo" in result.stdout + result.stderr


def _a_row_mentioning(con: sqlite3.Connection, text: str) -> tuple[str, str, int]:
    for (table,) in con.execute("select name from sqlite_master where type='table'"):
        for col in [r[1] for r in con.execute(f"pragma table_info('{table}')")]:
            row = con.execute(f"select rowid from '{table}' where typeof({col})='text' and "
                              f"{col} like ? limit 1", (f"%{text}%",)).fetchone()
            if row:
                return table, col, int(row[0])
    raise AssertionError("no audit row mentions " + text)

