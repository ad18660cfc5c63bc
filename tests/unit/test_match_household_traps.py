"""Relatives the trap set caught answered sure: an undated namesake record; a twin of the other sex.

- A store that holds a son twice -- once with his date of birth, once without -- must not
  answer his father (same names, same address, not held) `high` with the undated record:
  nothing says that record is not the father's.
- A twin of the other sex whose given name is only like the query's (a nickname one key
  away, or none given) is a twin, not the person.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import match
from agency_adapters.matching.scoring import compare
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.vocab import MatchBand
from tests.unit.match_stores import build, random_person

SON = Person("S1", "Staiel", "Neins", (), "2023-02-18", "male", "GU29 4NX", "4 Mill Lane", "", "")
SON_UNDATED = replace(SON, person_id="S2", date_of_birth=None)
SISTER = Person("T1", "Millie", "Kaiwick", (), "2021-03-04", "female", "KT28 9WP",
                "9 Kiln Road", "", "")
JAMES = Person("J1", "James", "James", (), "2015-09-18", "male", "HP4 5RS", "45 Princes Close",
               "", "")
ALONE = Person("A1", "Quilla", "Oyelaran", (), None, "female", "M14 5QT", "2 Ash Row", "", "")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SqliteAgencyStore:
    rng = random.Random(11)
    people = [random_person(rng, f"P{i}") for i in range(800)]
    return build(tmp_path_factory.mktemp("traps") / "s.sqlite",
                 [*people, SON, SON_UNDATED, SISTER, JAMES, ALONE])


def test_the_father_of_a_son_held_twice_is_not_answered_with_the_undated_record(
        store: SqliteAgencyStore) -> None:
    father = QueryIdentifiers(given_name="Staiel", family_name="Neins",
                              date_of_birth="1993-10-26", postcode="GU29 4NX")
    result = match(store, father)
    assert result.band == MatchBand.POSSIBLE, result


def test_an_undated_record_with_no_dated_namesake_is_still_high(
        store: SqliteAgencyStore) -> None:
    """The rule asks only where a same-named person with another date lives there too."""
    query = QueryIdentifiers(given_name="Quilla", family_name="Oyelaran",
                             date_of_birth="1990-05-05", postcode="M14 5QT")
    result = match(store, query)
    assert (result.band, result.person_id) == (MatchBand.HIGH, "A1"), result


def test_the_son_himself_is_still_found(store: SqliteAgencyStore) -> None:
    son = QueryIdentifiers(given_name="Staiel", family_name="Neins", date_of_birth="2023-02-18",
                           postcode="GU29 4NX")
    result = match(store, son)
    assert result.band in (MatchBand.CERTAIN, MatchBand.HIGH), result
    assert result.person_id in ("S1", "S2")


@pytest.mark.parametrize("given", ["William", ""])
def test_a_twin_of_the_other_sex_with_a_name_only_alike_is_not_sure(
        store: SqliteAgencyStore, given: str) -> None:
    brother = QueryIdentifiers(given_name=given, family_name="Kaiwick",
                               date_of_birth="2021-03-04", postcode="KT28 9WP", sex="male")
    result = match(store, brother)
    assert result.band not in (MatchBand.CERTAIN, MatchBand.HIGH), result


def test_the_same_given_name_with_the_sex_keyed_wrong_is_still_the_person(
        store: SqliteAgencyStore) -> None:
    query = QueryIdentifiers(given_name="Millie", family_name="Kaiwick",
                             date_of_birth="2021-03-04", postcode="KT28 9WP", sex="male")
    assert not compare(query, SISTER).contradicted
    result = match(store, query)
    assert (result.band, result.person_id) == (MatchBand.HIGH, "T1"), result


def test_without_the_query_sex_nothing_changes() -> None:
    query = QueryIdentifiers(given_name="", family_name="Kaiwick", date_of_birth="2021-03-04",
                             postcode="KT28 9WP")
    assert not compare(query, SISTER).contradicted
    assert compare(replace(query, sex="female"), SISTER).contradicted is False
    assert compare(replace(query, sex="male"), SISTER).contradicted is True


def test_the_evaluation_passes_the_query_sex(tmp_path: Path) -> None:
    from agency_adapters.matching.evaluate import read_queries

    f = tmp_path / "QUERIES.csv"
    f.write_text("query_id,given_name,family_name,date_of_birth,postcode,nhs_number,sex\n"
                 "Q1,Ann,Lee,2000-01-01,S1 1AA,,female\n")
    assert read_queries(f)[0].sex == "female"


def test_a_twin_whose_given_name_is_the_surname_is_not_read_the_other_way_round(
        store: SqliteAgencyStore) -> None:
    """Nicholas James asked for, his twin James James held: one name agrees either way round."""
    nicholas = QueryIdentifiers(given_name="Nicholas", family_name="James",
                                date_of_birth="2015-09-18", postcode="HP4 5RS", sex="male")
    assert compare(nicholas, JAMES).contradicted
    result = match(store, nicholas)
    assert result.band not in (MatchBand.CERTAIN, MatchBand.HIGH), result


def test_names_the_other_way_round_are_still_read_so(store: SqliteAgencyStore) -> None:
    swapped = QueryIdentifiers(given_name="Neins", family_name="Staiel",
                               date_of_birth="2023-02-18", postcode="GU29 4NX")
    assert compare(swapped, SON).names_reversed
    assert match(store, swapped).band in (MatchBand.CERTAIN, MatchBand.HIGH)
