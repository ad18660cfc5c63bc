"""A running engine follows its policy files: adopted when they load, refused when broken."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mash.home import Home
from policy import SHIPPED_POLICY_DIR, dev_approve_all, load_engine
from policy.approval import agreements_dir, approvals_dir, approvers_file
from policy.demo_agreements import install_demo_agreements
from policy.reloading import PolicyReloader, read_live, stale
from policy.status import agreement_statuses

NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)


def _home(tmp_path: Path) -> Home:
    home = Home.at(tmp_path)
    dev_approve_all(home, install_demo_agreements(home, SHIPPED_POLICY_DIR, NOW.date()), at=NOW)
    return home


def _reloader(home: Home, status: Path, interval_s: float = 2.0) -> PolicyReloader:
    return PolicyReloader(load_engine(home), lambda: load_engine(home),
                          (agreements_dir(home), approvals_dir(home), approvers_file(home)),
                          name="adapter-police", status_file=status, interval_s=interval_s)


def _applied(reloader: PolicyReloader) -> int:
    return sum(s.applied for s in agreement_statuses(reloader.engine, now=NOW))


def test_a_withdrawn_approval_is_applied_by_the_running_engine(tmp_path: Path) -> None:
    home = _home(tmp_path)
    reloader = _reloader(home, tmp_path / "run" / "p.policy.json")
    engine = reloader.engine
    before = engine.version
    assert _applied(reloader) == 5
    shutil.rmtree(approvals_dir(home) / "dsa-mash-demo-police")
    assert reloader.reload() is True
    assert reloader.engine is engine, "the same engine object, so every holder sees it"
    assert _applied(reloader) == 4 and engine.version != before
    status = json.loads((tmp_path / "run" / "p.policy.json").read_text())
    assert status["version"] == engine.version and status["fault"] == ""


def test_a_broken_agreement_is_refused_and_the_running_policy_stays(tmp_path: Path) -> None:
    home = _home(tmp_path)
    reloader = _reloader(home, tmp_path / "run" / "p.policy.json")
    before = reloader.engine.version
    (agreements_dir(home) / "police.toml").write_text("id = [unclosed")
    assert reloader.reload() is False
    assert reloader.engine.version == before and _applied(reloader) == 5
    status = json.loads((tmp_path / "run" / "p.policy.json").read_text())
    assert status["fault"] and status["version"] == before


def test_the_watcher_takes_a_change_once_it_holds_still(tmp_path: Path) -> None:
    home = _home(tmp_path)
    reloader = _reloader(home, tmp_path / "run" / "p.policy.json", interval_s=0.05)

    async def scenario() -> None:
        task = asyncio.create_task(reloader.watch())
        shutil.rmtree(approvals_dir(home) / "dsa-mash-demo-health")
        for _ in range(200):  # a condition, bounded; not a timing assertion
            if _applied(reloader) == 4:
                break
            await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(scenario())
    assert _applied(reloader) == 4


def test_live_status_names_the_party_that_differs(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name, version in (("broker-a", "v1"), ("adapter-police", "v1"), ("adapter-health", "v0")):
        (run / f"{name}.policy.json").write_text(json.dumps({"party": name, "version": version}))
    parties = read_live(run)
    assert stale(parties) == ["adapter-health"]
    assert stale([]) == []


@pytest.mark.parametrize("broken", ["", "{not json"])
def test_an_unreadable_status_file_is_reported_not_skipped(tmp_path: Path, broken: str) -> None:
    (tmp_path / "adapter-x.policy.json").write_text(broken)
    assert read_live(tmp_path) == [{"party": "adapter-x", "fault": "unreadable status"}]


def test_live_status_marks_a_party_whose_process_has_gone_and_leaves_it_out_of_differ(
        tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    here = socket.gethostname()
    for name, version, pid in (("broker-a", "v1", os.getpid()), ("adapter-police", "v1", None),
                               ("adapter-health", "v0", int(ended.stdout))):
        (tmp_path / f"{name}.policy.json").write_text(json.dumps(
            {"party": name, "version": version, "pid": pid, "host": here}))
    parties = {p["party"]: p for p in read_live(tmp_path)}
    assert "has gone" in str(parties["adapter-health"]["stopped"])
    assert "stopped" not in parties["broker-a"] and "stopped" not in parties["adapter-police"]
    assert stale(parties.values()) == []  # a stopped party's old version is not a difference


def test_a_running_partys_status_names_its_process_and_host(tmp_path: Path) -> None:
    reloader = _reloader(_home(tmp_path), tmp_path / "run" / "p.policy.json")
    reloader.publish()
    status = json.loads((tmp_path / "run" / "p.policy.json").read_text())
    assert status["pid"] == os.getpid() and status["host"] == socket.gethostname()
    assert "stopped" not in read_live(tmp_path / "run")[0]
