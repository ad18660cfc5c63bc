"""The trap set (bench/traps.py): its population and truth hold what the figures rely on."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from agency_adapters.matching.normalise import normalise_nhs_number, normalise_postcode
from agency_adapters.matching.roles import birth_range_for
from agency_adapters.matching.scoring import one_digit_apart
from bench.traps import HELD_TRAPS, NOT_HELD_TRAPS, TrapSet, make_trapset, trap_table
from bench.traps_corrupt import day_month_swapped, nhs_one_digit_variants, one_dob_digit
from bench.traps_people import same_name
from mash.vocab import MatchBand, SubjectRole

TODAY = date(2026, 3, 14)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def trapset(tmp_path_factory: pytest.TempPathFactory) -> TrapSet:
    return make_trapset(tmp_path_factory.mktemp("traps"), people=1500, queries=600, seed=3,
                        today=TODAY)


def test_twins_share_surname_dob_address_and_have_their_own_valid_numbers(
        trapset: TrapSet) -> None:
    by = {p.pid: p for p in trapset.people}
    twins = [(p, by[p.twin]) for p in trapset.people if p.twin]
    assert len(twins) >= 20
    for a, b in twins:
        assert by[b.twin] is a
        assert (a.family, a.dob, a.postcode, a.address) == (b.family, b.dob, b.postcode,
                                                            b.address)
        assert not same_name(a.given, b.given)
        assert a.nhs != b.nhs and normalise_nhs_number(a.nhs) and normalise_nhs_number(b.nhs)
    assert sum(one_digit_apart(a.nhs, b.nhs) for a, b in twins) > len(twins) // 2
    for p in trapset.people:  # siblings other than twins are born at least 330 days apart
        for s in p.siblings:
            if s != p.twin:
                assert abs((by[s].dob - p.dob).days) >= 330
    numbers = [p.nhs for p in trapset.people]
    assert len(set(numbers)) == len(numbers)
    assert all(normalise_postcode(p.postcode) == p.postcode for p in trapset.people)
    assert {p.sex for p in trapset.people} == {"male", "female"}


def test_truth_agrees_with_the_store_and_the_population(trapset: TrapSet) -> None:
    es = trapset.evalset
    records = {r["record_id"]: r for r in _csv(es.records)}
    queries = {q["query_id"]: q for q in _csv(es.queries)}
    truth = _csv(es.truth)
    assert len(records) == es.n_records and len(truth) == len(queries) == 600
    not_held = [t for t in truth if not t["record_id"]]
    assert len(not_held) == es.n_unknown == 90  # 15%
    held_ids = {r for rs in trapset.held.values() for r in rs}
    assert held_ids == set(records)
    kinds = {t["trap"] for t in truth}
    assert {"twin_not_held", "twin_both_held", "sibling_not_held",
            "parent_not_held_childs_name", "nhs_typo_is_held_siblings"} <= kinds
    for t in truth:
        q = queries[t["query_id"]]
        if t["trap"] in NOT_HELD_TRAPS or t["trap"] == "not_held":
            assert not t["record_id"]
        if t["trap"] in NOT_HELD_TRAPS or t["trap"] in HELD_TRAPS:
            rel = t["relative_record_id"].split("|")
            assert rel[0] and not set(rel) & set(t["record_id"].split("|"))
            assert set(rel) <= set(t["household_record_id"].split("|"))
            given = {records[r]["given_name"].lower() for r in rel}
            family = {records[r]["family_name"].lower() for r in rel}
            if "name" in t["trap"]:  # a parent and child of one given name
                assert q["given_name"].lower() in given
            elif t["trap"] in ("twin_not_held", "sibling_not_held"):
                assert q["family_name"].lower() in family
        if t["trap"].startswith("twin_not_held"):
            relative = records[t["relative_record_id"].split("|")[0]]
            assert relative["given_name"] != q["given_name"]
        if t["trap"].endswith(("_with_cotwins_nhs", "_with_siblings_nhs")) \
                or t["trap"] == "nhs_typo_is_held_siblings":
            rel_numbers = {records[r]["nhs_number"] for r in t["relative_record_id"].split("|")}
            assert q["nhs_number"] in {p.nhs for p in trapset.people}
            if t["trap"] == "nhs_typo_is_held_siblings":
                assert q["nhs_number"] in rel_numbers
                mine = records[t["record_id"].split("|")[0]]
                assert t["corruptions"] == "nhs_siblings_number" and mine
        if "nhs_one_digit" in t["corruptions"].split("+"):
            assert normalise_nhs_number(q["nhs_number"])
            assert q["nhs_number"] not in {p.nhs for p in trapset.people}
        if t["corruptions"] == "" and t["record_id"] and not t["trap"]:
            first = records[t["record_id"].split("|")[0]]
            assert q["given_name"].lower() == first["given_name"].lower() or len(
                t["record_id"].split("|")) > 1


def test_the_same_seed_makes_the_same_files_and_another_seed_others(tmp_path: Path) -> None:
    made = [make_trapset(tmp_path / name, people=300, queries=100, seed=seed, today=TODAY)
            for name, seed in (("a", 5), ("b", 5), ("c", 6))]
    texts = [[f.read_bytes() for f in (m.evalset.records, m.evalset.queries, m.evalset.truth)]
             for m in made]
    assert texts[0] == texts[1]
    assert texts[0][0] != texts[2][0]


def test_corruptions_do_what_their_labels_say() -> None:
    import random

    rng = random.Random(1)
    assert day_month_swapped(date(2010, 3, 7)) == date(2010, 7, 3)
    assert day_month_swapped(date(2010, 3, 13)) is None
    for _ in range(50):
        d = one_dob_digit(rng, date(2011, 5, 24), TODAY)
        assert d is not None and d != date(2011, 5, 24) and d <= TODAY
        diff = sum(x != y for x, y in zip(d.strftime("%Y%m%d"), "20110524", strict=True))
        assert diff == 1
    assert same_name("Tracy", "Tracey") and same_name("Katie", "Katherine")
    assert not same_name("Jack", "Jake")
    variants = nhs_one_digit_variants("4010232137")
    assert variants and all(normalise_nhs_number(v) and one_digit_apart(v, "4010232137")
                            for v in variants)


def test_trap_table_counts_a_sure_answer_to_the_relative_as_wrong(tmp_path: Path) -> None:
    truth = tmp_path / "TRUTH.csv"
    truth.write_text("query_id,record_id,corruptions,trap,relative_record_id,"
                     "household_record_id,nhs\n"
                     "A,,,twin_not_held,R2,R2|R3,neither\n"
                     "B,R5|R6,,twin_both_held,R7,R7,both\n"
                     "C,,,sibling_not_held,R9,R9,neither\n")
    table = trap_table({"A": ("R2", 30.0, MatchBand.HIGH), "B": ("R6", 40.0, MatchBand.CERTAIN),
                        "C": ("R1", 12.0, MatchBand.POSSIBLE)}, truth)
    assert table["twin_not_held"]["sure_household"] == 1
    assert table["twin_both_held"]["sure_right"] == 1
    assert table["sibling_not_held"]["possible"] == 1 and not table["sibling_not_held"][
        "sure_other"]


def test_match_eval_runs_the_trap_set_and_prints_the_trap_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.match_eval import main

    assert main(["--data", "traps", "--people", "300", "--queries", "120",
                 "--work", str(tmp_path), "--as-of", TODAY.isoformat()]) == 0
    out = capsys.readouterr().out
    assert "traps: population 300" in out and "18 not held" in out
    assert "recall by corruption" in out and "traps: queries / sure right" in out
    # the queries' roles were judged on the set's own day: no sure answer to an undated
    # query lands on somebody of an age the role rules out
    records = {r["record_id"]: r for r in _csv(tmp_path / "RECORDS.csv")}
    queries = {q["query_id"]: q for q in _csv(tmp_path / "QUERIES.csv")}
    for r in _csv(tmp_path / "RESULTS.csv"):
        q = queries[r["query_id"]]
        if r["band"] in ("certain", "high") and not q["date_of_birth"]:
            span = birth_range_for(SubjectRole(q["role"]), TODAY)
            born = records[r["record_id"]]["date_of_birth"]
            assert span is None or not born or span[0] <= born <= span[1]


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_queries_carry_the_role_a_referral_would_give(trapset: TrapSet) -> None:
    es = trapset.evalset
    assert es.as_of == TODAY
    by_record = {r: pid for pid, rs in trapset.held.items() for r in rs}
    by = {p.pid: p for p in trapset.people}
    queries = {q["query_id"]: q for q in _csv(es.queries)}
    roles = {q["role"] for q in queries.values()}
    assert roles == {"child", "parent_carer", "adult_at_risk", "household_member"}
    for t in _csv(es.truth):
        role = queries[t["query_id"]]["role"]
        if t["trap"] == "parent_not_held_childs_name":
            assert role == "parent_carer"
        if t["record_id"]:
            p = by[by_record[t["record_id"].split("|")[0]]]
            assert (role == "child") is (_age(p.dob, TODAY) < 18)
            if role != "child":
                assert role == ("parent_carer" if p.parent else
                                "household_member" if p.child else "adult_at_risk")
