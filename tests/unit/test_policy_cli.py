"""`mash policy ...` end to end through the real argument parser (in process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.reading import records_where
from mash.app.cli import main
from mash.home import Home
from tests.policy_helpers import BASE, copy_shipped
from tests.unit.audit_helpers import pin_checkpoint_keys


def _request_file(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({**BASE.to_json(), **changes}))
    return path


def test_explain_json_before_and_after_approval(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    home, request = str(tmp_path / "home"), str(_request_file(tmp_path))
    assert main(["policy", "explain", "--request", request, "--home", home,
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "DENY"
    assert main(["policy", "dev-approve", "--home", home]) == 0
    capsys.readouterr()
    assert main(["policy", "explain", "--request", request, "--home", home,
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == "PERMIT"
    assert set(out) == {"decision", "categories", "reasons", "agreement"}
    assert set(out["agreement"]) == {"id", "version"}


def test_explain_text_is_plain_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    request = str(_request_file(tmp_path, rag="amber"))
    assert main(["policy", "explain", "--request", request, "--assume-approved"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Decision: REVIEW") and "Why:" in out and "police_intelligence" in out


@pytest.mark.parametrize("change", [{"rag": "scarlet"}, {"purpose": "curiosity"},
                                    {"requester": {"role": "janitor", "id": "x"}}])
def test_explain_unknown_value_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       change: dict[str, object]) -> None:
    assert main(["policy", "explain", "--request", str(_request_file(tmp_path, **change)),
                 "--assume-approved"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mash: error: unknown") and len(err.strip().splitlines()) == 1


def test_lint_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = copy_shipped(tmp_path)
    assert main(["policy", "lint", str(d), "--today", "2026-11-25"]) == 0
    (d / "police.toml").write_text((d / "police.toml").read_text().replace(
        'marac_cases = "standard"', 'marac_cases = "secret"'))
    assert main(["policy", "lint", str(d)]) == 1
    assert "police.toml:" in capsys.readouterr().out


def test_test_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "test"]) == 0
    assert "0 failed" in capsys.readouterr().out


def test_approve_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, d = str(tmp_path / "home"), copy_shipped(tmp_path)
    police = str(d / "police.toml")
    assert main(["policy", "approve", police, "--as", "ig-lead-alex", "--home", home]) == 2
    for name in ("ig-lead-alex", "caldicott-guardian-sam"):
        assert main(["policy", "add-approver", name, "--home", home]) == 0
        assert main(["policy", "approve", police, "--as", name, "--home", home]) == 0
    capsys.readouterr()
    pin_checkpoint_keys(Home.at(home), ("policy",))  # verify trusts pinned keys only
    assert main(["audit", "verify", "--home", home]) == 0
    assert "policy.sqlite" in capsys.readouterr().out
    approvals = list(records_where(Home.at(home).audit_log("policy"), "1 = 1", []))
    assert [(r.event.kind, r.event.actor_id, r.event.agreement_id) for r in approvals] == [
        (kind, name, agreement) for name in ("ig-lead-alex", "caldicott-guardian-sam")
        for kind, agreement in (("approver_pinned", None),
                                ("agreement_approved", "dsa-mash-demo-police"))]
    assert main(["policy", "status", "--policy-dir", str(d), "--home", home,
                 "--format", "json", "--at", "2026-11-25T10:00:00Z"]) == 0
    status = {s["agency"]: s for s in json.loads(capsys.readouterr().out)}
    assert status["police"]["applied"] and status["health"]["awaiting_approval"]


def test_diff_and_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = copy_shipped(tmp_path)
    assert main(["policy", "diff", str(d), str(d), "--agency", "education",
                 "--fail-on-change"]) == 0
    export = tmp_path / "requests.jsonl"
    export.write_text(json.dumps(BASE.to_json()) + "\n")
    assert main(["policy", "dry-run", "--policy-dir", str(d), "--from-jsonl", str(export),
                 "--at", "2026-11-26T00:00:00Z", "--fail-on-change"]) == 0
    assert "0 of 1 replayed" in capsys.readouterr().out
    assert main(["policy", "dry-run", "--policy-dir", str(d),
                 "--home", str(tmp_path / "none")]) == 2
