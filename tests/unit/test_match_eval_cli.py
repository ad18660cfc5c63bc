"""`mash match eval`'s flags: the bench's threshold switches and training, and help that
cannot state a default other than the matcher's."""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

import pytest

from mash.app.cli import build_parser, main
from tests.unit.match_stores import write_csv

RECORDS = [
    {"record_id": "A1", "given_name": "William", "family_name": "Hartley",
     "date_of_birth": "2016-04-07", "postcode": "S11 8YA", "address_line": "12 Oak Road",
     "sex": "male", "nhs_number": "9434765919"},
    {"record_id": "A2", "given_name": "Olivia", "family_name": "Brennan",
     "date_of_birth": "1990-02-11", "postcode": "LS6 2AB", "address_line": "3 Elm Street",
     "sex": "female", "nhs_number": ""},
]
QUERIES = [
    # surname and date of birth only: about 20 bits, `high` only with the small store's lower bar
    {"query_id": "surname_dob", "given_name": "", "family_name": "Hartley",
     "date_of_birth": "2016-04-07", "nhs_number": "", "sex": ""},
    # the verified number, date of birth and surname with a wholly different given name
    {"query_id": "other_given", "given_name": "Zebedee", "family_name": "Hartley",
     "date_of_birth": "2016-04-07", "nhs_number": "9434765919", "sex": "male"},
]


def _bands(tmp_path: Path, *flags: str) -> dict[str, str]:
    records = write_csv(tmp_path / "RECORDS.csv", RECORDS)
    queries = write_csv(tmp_path / "QUERIES.csv", QUERIES)
    out = tmp_path / "RESULTS.csv"
    assert main(["match", "eval", "--records", str(records), "--queries", str(queries),
                 "--out", str(out), "--as-of", "2026-11-02", *flags]) == 0
    with out.open() as f:
        return {r["query_id"]: r["band"] for r in csv.DictReader(f)}


def test_threshold_switches_reach_the_matcher(tmp_path: Path) -> None:
    assert _bands(tmp_path) == {"surname_dob": "high", "other_given": "possible"}
    assert _bands(tmp_path, "--no-scale-bars")["surname_dob"] == "possible"
    assert _bands(tmp_path, "--number-rule")["other_given"] == "high"


def test_train_learns_from_the_store_first(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    # One record is too few to learn from: the error shows training ran on the built store
    # (a successful training run takes tens of seconds even on a tiny store).
    records = write_csv(tmp_path / "RECORDS.csv", RECORDS[:1])
    queries = write_csv(tmp_path / "QUERIES.csv", QUERIES)
    assert main(["match", "eval", "--records", str(records), "--queries", str(queries),
                 "--out", str(tmp_path / "RESULTS.csv"), "--as-of", "2026-11-02",
                 "--train"]) == 2
    assert "training needs at least two records" in capsys.readouterr().err


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError(f"no sub-command {name}")


def test_help_states_no_default_of_its_own() -> None:
    ev = _subparser(_subparser(build_parser(), "match"), "eval")
    helps = {a.option_strings[0]: a.help or "" for a in ev._actions if a.option_strings}
    for flag in ("--certain", "--high", "--possible", "--margin", "--high-without-dob"):
        assert "default: the matcher's" in helps[flag], flag
        assert not re.search(r"\d", helps[flag]), (flag, helps[flag])
    assert {"--no-scale-bars", "--number-rule", "--train", "--as-of"} <= set(helps)
