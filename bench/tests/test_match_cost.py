"""`bench.match_cost`: both ways of matching give the same answers; the store is reused."""

import json
from pathlib import Path

import pytest

from bench.match_cost import main


def _run(capsys: pytest.CaptureFixture[str], work: Path) -> dict[str, object]:
    assert main(["--people", "400", "--queries", "40", "--json", "--work", str(work)]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    return out


def test_ranked_matching_answers_as_scoring_every_candidate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _run(capsys, tmp_path)
    assert first["answers_differ"] == 0 and first["queries"] == 40
    compared, candidates = first["compared_in_full"], first["candidates"]
    assert isinstance(compared, dict) and isinstance(candidates, dict)
    assert 1 <= compared["mean"] <= candidates["mean"]
    assert isinstance(first["store_built_s"], float)
    again = _run(capsys, tmp_path)
    assert again["store_built_s"] == "reused" and again["candidates"] == candidates


def test_an_evaluation_runs_queries_with_their_roles_on_the_sets_day(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.match_eval import main as match_eval

    assert match_eval(["--people", "400", "--queries", "40", "--work", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["--evalset", str(tmp_path), "--queries", "40", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["answers_differ"] == 0 and out["queries"] == 40
