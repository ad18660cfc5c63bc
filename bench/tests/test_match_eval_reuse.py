"""`bench.match_eval --reuse`: re-match against the set and store an earlier run kept."""

import json
from pathlib import Path

import pytest

from bench.match_eval import MANIFEST, main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["--people", "400", "--queries", "60", "--json", *args]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return out


SCORES = ("precision_certain_high", "recall_certain_high", "recall_with_possible", "bands")


def test_reuse_skips_generation_and_build_and_matches_the_same(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(capsys, "--work", str(tmp_path), "--seed", "3")
    assert first["reused"] is False and isinstance(first["store_build_s"], float)
    store = tmp_path / "eval-store.sqlite"
    built_at = store.stat().st_mtime_ns
    again = _run(capsys, "--work", str(tmp_path), "--seed", "3", "--reuse")
    assert again["reused"] is True and again["store_build_s"] is None
    assert store.stat().st_mtime_ns == built_at  # not rebuilt
    assert again["records"] == first["records"] and again["queries"] == first["queries"]
    assert {k: again[k] for k in SCORES} == {k: first[k] for k in SCORES}


def test_reuse_rebuilds_when_the_parameters_differ(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "--work", str(tmp_path), "--seed", "3")
    other = _run(capsys, "--work", str(tmp_path), "--seed", "4", "--reuse")
    assert other["reused"] is False
    assert json.loads((tmp_path / MANIFEST).read_text())["params"]["seed"] == 4


def test_reuse_rebuilds_when_the_store_is_missing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "--work", str(tmp_path), "--seed", "3")
    (tmp_path / "eval-store.sqlite").unlink()
    assert _run(capsys, "--work", str(tmp_path), "--seed", "3", "--reuse")["reused"] is False


def test_reuse_needs_a_work_folder() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--reuse"])
    assert exc.value.code == 2


def test_a_set_from_before_queries_carried_roles_is_made_again(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(capsys, "--work", str(tmp_path), "--seed", "3")
    assert first["as_of"] == "2026-11-02"  # the generated set's fixed day (EVAL_AS_OF)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    del manifest["as_of"]  # as an older run wrote it, beside a QUERIES.csv without roles
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    assert _run(capsys, "--work", str(tmp_path), "--seed", "3", "--reuse")["reused"] is False
