"""`mash match eval` / `mash match evalset`: the CSV contract and sensible accuracy."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from agency_adapters.matching.evalset import EVAL_AS_OF
from agency_adapters.matching.evaluate import run_eval, score_results
from mash.app.cli import main
from mash.vocab import MatchBand
from tests.unit.match_stores import write_csv


def test_results_contract(tmp_path: Path) -> None:
    records = write_csv(tmp_path / "RECORDS.csv", [
        {"record_id": "A1", "given_name": "William", "family_name": "Hartley",
         "date_of_birth": "2016-04-07", "postcode": "S11 8YA", "address_line": "12 Oak Road",
         "sex": "male", "nhs_number": "9434765919", "extra": "ignored"},
        {"record_id": "A2", "given_name": "", "family_name": "", "date_of_birth": "",
         "postcode": "", "address_line": "", "sex": "", "nhs_number": "", "extra": ""},
    ])
    queries = write_csv(tmp_path / "QUERIES.csv", [
        {"query_id": "q1", "given_name": "Bill", "family_name": "Hartley",
         "date_of_birth": "2016-07-04", "postcode": "s118ya", "nhs_number": ""},
        {"query_id": "q2", "given_name": "Nobody", "family_name": "Known",
         "date_of_birth": "2001-01-01", "postcode": "", "nhs_number": ""},
        {"query_id": "q3", "given_name": "", "family_name": "", "date_of_birth": "",
         "postcode": "", "nhs_number": "943 476 5919"},
    ])
    out = tmp_path / "RESULTS.csv"
    assert main(["match", "eval", "--records", str(records), "--queries", str(queries),
                 "--out", str(out)]) == 0
    with out.open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["query_id", "record_id", "score", "band"]
        rows = {r["query_id"]: r for r in reader}
    assert rows["q1"]["record_id"] == "A1" and rows["q1"]["band"] == "high"
    assert rows["q2"] == {"query_id": "q2", "record_id": "", "score": rows["q2"]["score"],
                          "band": "none"}
    # An NHS number alone is not corroborated by name or DOB: never more than possible.
    assert rows["q3"]["band"] == "possible"


def test_bad_input_is_usage_error(tmp_path: Path) -> None:
    bad = write_csv(tmp_path / "R.csv", [{"id": "x"}])
    q = write_csv(tmp_path / "Q.csv", [{"query_id": "q"}])
    assert main(["match", "eval", "--records", str(bad), "--queries", str(q),
                 "--out", str(tmp_path / "o.csv")]) == 2
    assert main(["match", "eval", "--records", str(tmp_path / "missing.csv"), "--queries",
                 str(q), "--out", str(tmp_path / "o.csv")]) == 2
    good = write_csv(tmp_path / "G.csv", [{"record_id": "r1"}])
    assert main(["match", "eval", "--records", str(good), "--queries", str(q),
                 "--out", str(tmp_path / "o.csv"), "--high", "99"]) == 2  # high > certain


def test_generated_set_meets_precision(tmp_path: Path) -> None:
    assert main(["match", "evalset", "--out", str(tmp_path), "--people", "3000",
                 "--queries", "600"]) == 0
    run = run_eval(tmp_path / "RECORDS.csv", tmp_path / "QUERIES.csv", tmp_path / "RES.csv",
                   work_dir=tmp_path, as_of=EVAL_AS_OF)
    m = score_results(run.results, tmp_path / "TRUTH.csv")
    assert 60 <= m.unknown <= 120  # ~15% of queries are people the agency does not hold
    precision, recall, _ = m.cumulative((MatchBand.CERTAIN, MatchBand.HIGH))
    assert precision >= 0.995
    assert recall >= 0.8
    _, recall_all, _ = m.cumulative((MatchBand.CERTAIN, MatchBand.HIGH, MatchBand.POSSIBLE))
    assert recall_all >= 0.95
    assert m.unknown_answered_sure == 0


@pytest.mark.parametrize("argv", [["match", "evalset", "--out", "x", "--people", "5"]])
def test_evalset_rejects_tiny(argv: list[str]) -> None:
    assert main(argv) == 2
