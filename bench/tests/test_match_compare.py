"""The side-by-side comparison's figures (Splink itself is an optional extra, not needed here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.match_compare import _rows, figures


def test_figures_at_two_thresholds() -> None:
    truth = {"q1": {"r1"}, "q2": {"r2", "r2b"}, "q3": {"r3"}, "q4": set()}
    answers = {"q1": ("r1", 0.99), "q2": ("r2b", 0.7), "q3": ("rX", 0.97), "q4": ("r9", 0.96)}
    f = figures("x", answers, truth, sure_at=0.95, possible_at=0.5, seconds=1.0)
    assert f.precision_sure == pytest.approx(1 / 3)   # q1 right; q3 wrong; q4 not held
    assert f.recall_sure == pytest.approx(1 / 3)
    assert f.recall_with_possible == pytest.approx(2 / 3)  # q1, q2
    assert f.not_held_wrong_rate == 1.0


def test_rows_normalise_what_splink_compares(tmp_path: Path) -> None:
    path = tmp_path / "R.csv"
    path.write_text("record_id,given_name,family_name,date_of_birth,postcode,nhs_number\n"
                    "R1,Zoë,O'Neil-Smith,2014-02-30,s11 8ya,943 476 5919\n")
    (row,) = _rows(path, "record_id")
    assert row["given_name"] == "zoe" and row["family_name"] == "oneil smith"
    assert row["date_of_birth"] is None  # not a real date
    assert row["postcode"] == "S11 8YA" and row["district"] == "S11"
    assert row["nhs_number"] == "9434765919" and row["sdx_given"] == "Z000"


def test_rows_carry_the_sex_where_the_set_has_it(tmp_path: Path) -> None:
    path = tmp_path / "Q.csv"
    path.write_text("query_id,given_name,family_name,sex\nQ1,Ann,Lee,F\nQ2,Bo,Lee,\n")
    first, second = _rows(path, "query_id")
    assert first["sex"] == "female"
    assert second["sex"] is None  # not compared, as mash-hub leaves it
