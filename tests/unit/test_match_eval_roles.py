"""`mash match eval` reads the subject's role from QUERIES.csv and bounds the age of a match
without a date of birth as the adapter does: the same-named father is not the child asked for."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from agency_adapters.matching.evalset import EVAL_AS_OF
from agency_adapters.matching.evaluate import EvaluationInputError, read_queries, run_eval
from agency_adapters.matching.roles import birth_range_for
from mash.app.cli import main
from mash.vocab import MatchBand, SubjectRole
from tests.unit.match_stores import write_csv

AS_OF = date(2026, 11, 25)
FATHER = {"record_id": "F1", "given_name": "Daniel", "family_name": "Oakes",
          "date_of_birth": "1980-03-02", "postcode": "S8 1AB", "address_line": "4 Lea Road",
          "sex": "male", "nhs_number": ""}


def _query(qid: str, role: str, dob: str = "") -> dict[str, str]:
    return {"query_id": qid, "given_name": "Daniel", "family_name": "Oakes",
            "date_of_birth": dob, "postcode": "S8 1AB", "nhs_number": "", "role": role}


def test_role_bounds_an_undated_query_as_the_adapter_does(tmp_path: Path) -> None:
    records = write_csv(tmp_path / "RECORDS.csv", [FATHER])
    queries = write_csv(tmp_path / "QUERIES.csv", [
        _query("son", "child"),                       # the father is too old to be him
        _query("father", "parent_carer"),             # the right person
        _query("unsaid", ""),                         # no role: no bound
        _query("dated", "child", dob="1980-03-02"),   # a date of birth is compared instead
    ])
    out = tmp_path / "RESULTS.csv"
    assert main(["match", "eval", "--records", str(records), "--queries", str(queries),
                 "--out", str(out), "--as-of", AS_OF.isoformat()]) == 0
    with out.open() as f:
        bands = {r["query_id"]: (r["band"], r["record_id"]) for r in csv.DictReader(f)}
    assert bands["son"] == ("possible", "F1")
    assert bands["father"][0] in ("certain", "high")
    assert bands["unsaid"][0] in ("certain", "high")
    assert bands["dated"][0] in ("certain", "high")


def test_read_queries_bounds_by_the_reference_date(tmp_path: Path) -> None:
    queries = write_csv(tmp_path / "QUERIES.csv", [_query("son", "child"),
                                                _query("dated", "child", dob="2012-01-01")])
    son, dated = read_queries(queries, date(2030, 6, 1))
    assert son.born_between == birth_range_for(SubjectRole.CHILD, date(2030, 6, 1))
    assert dated.born_between is None


@pytest.mark.parametrize("role", ["parent", "Child", "carer"])
def test_an_unknown_role_stops_the_run_naming_the_line(tmp_path: Path, role: str) -> None:
    records = write_csv(tmp_path / "RECORDS.csv", [FATHER])
    queries = write_csv(tmp_path / "QUERIES.csv", [_query("q1", "child"), _query("q2", role)])
    out = tmp_path / "RESULTS.csv"
    with pytest.raises(EvaluationInputError, match=rf"QUERIES.csv line 3: unknown role '{role}'"):
        run_eval(records, queries, out, work_dir=tmp_path, as_of=AS_OF)
    assert not out.exists()  # nothing half-written
    assert main(["match", "eval", "--records", str(records), "--queries", str(queries),
                 "--out", str(out), "--as-of", AS_OF.isoformat()]) == 2


def test_a_role_without_a_reference_date_is_refused(tmp_path: Path) -> None:
    records = write_csv(tmp_path / "RECORDS.csv", [FATHER])
    queries = write_csv(tmp_path / "QUERIES.csv", [_query("q1", "child")])
    with pytest.raises(EvaluationInputError, match="line 2: role 'child' needs"):
        run_eval(records, queries, tmp_path / "RESULTS.csv", work_dir=tmp_path)
    no_roles = write_csv(tmp_path / "Q2.csv", [_query("q1", "")])
    run = run_eval(records, no_roles, tmp_path / "RESULTS.csv", work_dir=tmp_path)
    assert run.results["q1"][2] in (MatchBand.CERTAIN, MatchBand.HIGH)


def test_the_generated_set_gives_each_query_its_role(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["match", "evalset", "--out", str(tmp_path), "--people", "400",
                 "--queries", "200"]) == 0
    assert f"--as-of {EVAL_AS_OF.isoformat()}" in capsys.readouterr().out
    with (tmp_path / "QUERIES.csv").open() as f:
        queries = {q["query_id"]: q for q in csv.DictReader(f)}
    with (tmp_path / "TRUTH.csv").open() as f:
        truth = list(csv.DictReader(f))
    assert {q["role"] for q in queries.values()} == {r.value for r in SubjectRole}
    children_born = birth_range_for(SubjectRole.CHILD, EVAL_AS_OF)
    assert children_born is not None
    exact = [queries[t["query_id"]] for t in truth if not t["corruptions"]]
    assert len(exact) > 50
    for q in exact:  # an uncorrupted query has the true date of birth
        assert (q["role"] == "child") is (q["date_of_birth"] >= children_born[0])
    read_queries(tmp_path / "QUERIES.csv", EVAL_AS_OF)  # every role is one the eval reads
