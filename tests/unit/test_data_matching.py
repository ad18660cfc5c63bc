"""Identity matching: bands, NHS/UPN checks, nicknames, DOB swaps, twins, ambiguity."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import (
    DEFAULT,
    InvalidThresholds,
    MatchThresholds,
    match,
)
from agency_adapters.matching.normalise import (
    fold,
    normalise_nhs_number,
    normalise_postcode,
    normalise_upn,
    postcode_district,
)
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import MatchBand

# 943 476 5919 is the NHS's own published example of a valid number.
WILLIAM = Person("P1", "William James", "Hartley", (), "2016-04-07", "male", "S11 8YA",
                 "12 Oak Road", "9434765919", "")
# Twins: same surname, DOB and address; different given names and NHS numbers.
TWIN_A = Person("T1", "Olivia", "Khan", (), "2018-02-10", "female", "S2 4AB", "3 Elm Close",
                "9000000009", "")
TWIN_B = Person("T2", "Amelia", "Khan", (), "2018-02-10", "female", "S2 4AB", "3 Elm Close",
                "9000000017", "")
# Namesakes born the same day at two addresses: without a postcode, either could be meant.
DUP_1 = Person("D1", "Jack", "Smith", (), "2012-05-20", "male", "S6 1AA", "1 Mill Lane", "", "")
DUP_2 = Person("D2", "Jack", "Smith", (), "2012-05-20", "male", "S9 4ZZ", "8 Bank Street", "",
               "")
MARRIED = Person("M1", "Sarah", "Oldroyd", ("Pickering",), "1989-10-03", "female", "S7 2BB",
                 "9 Hill Rise", "", "")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SqliteAgencyStore:
    path = tmp_path_factory.mktemp("m") / "s.sqlite"
    with StoreWriter(path, "health") as w:
        w.add_people([WILLIAM, TWIN_A, TWIN_B, DUP_1, DUP_2, MARRIED])
    return SqliteAgencyStore(path)


def test_nhs_number_check_digit() -> None:
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert normalise_nhs_number("943-476-5919") == "9434765919"
    assert normalise_nhs_number("9434765918") is None  # wrong check digit
    assert normalise_nhs_number("4349765919") is None  # transposed digits
    assert normalise_nhs_number("94347659") is None
    full_width = "".join(chr(0xFF10 + int(d)) for d in "9434765919")
    assert normalise_nhs_number(full_width) is None  # digits, but not ASCII ones


def test_upn_check_letter() -> None:
    from stdnum.gb import upn

    body = "373200025001"
    good = upn.calc_check_digit(body) + body
    assert normalise_upn(good) == good
    bad_letter = ("A" if good[0] != "A" else "B") + body
    assert normalise_upn(bad_letter) is None


def test_normalisation() -> None:
    assert fold("  Zoë  O'Neil-SMITH ") == "zoe oneil smith"
    assert normalise_postcode("s118ya") == "S11 8YA"
    assert normalise_postcode("not a postcode") is None
    assert postcode_district("S11 8YA") == "S11"


def test_verified_nhs_number_is_certain(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="William", family_name="Hartley",
                                      date_of_birth="2016-04-07", nhs_number="943 476 5919"))
    assert r.band is MatchBand.CERTAIN and r.person_id == "P1"


def test_invalid_nhs_number_is_reported_not_trusted(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="William", family_name="Hartley",
                                      date_of_birth="2016-04-07", nhs_number="9434765918"))
    assert "nhs_number" in r.invalid_identifiers
    assert r.band is MatchBand.HIGH  # names and DOB still match; the bad number is ignored


def test_nickname_matches(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="Billy", family_name="Hartley",
                                      date_of_birth="2016-04-07", postcode="S11 8YA"))
    assert r.band is MatchBand.HIGH and r.person_id == "P1"


def test_dob_day_month_swap_matches(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="William", family_name="Hartley",
                                      date_of_birth="2016-07-04", postcode="S11 8YA"))
    assert r.band is MatchBand.HIGH and r.person_id == "P1"


def test_previous_surname_matches(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="Sarah", family_name="Pickering",
                                      date_of_birth="1989-10-03"))
    assert r.person_id == "M1" and r.band in (MatchBand.HIGH, MatchBand.CERTAIN)


@pytest.mark.parametrize(("given", "expected"), [("Olivia", "T1"), ("Amelia", "T2"),
                                                 ("Livvy", "T1")])
def test_twins_never_cross_match(store: SqliteAgencyStore, given: str, expected: str) -> None:
    r = match(store, QueryIdentifiers(given_name=given, family_name="Khan",
                                      date_of_birth="2018-02-10", postcode="S2 4AB"))
    assert r.band is MatchBand.HIGH and r.person_id == expected


def test_twins_without_given_name_are_only_possible(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(family_name="Khan", date_of_birth="2018-02-10",
                                      postcode="S2 4AB"))
    assert r.band is MatchBand.POSSIBLE and r.person_id is None


def test_several_strong_candidates_are_possible(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="Jack", family_name="Smith",
                                      date_of_birth="2012-05-20"))
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    assert "more than one" in r.confirm_hint
    # The address tells them apart.
    at_home = match(store, QueryIdentifiers(given_name="Jack", family_name="Smith",
                                            date_of_birth="2012-05-20", postcode="S9 4ZZ"))
    assert at_home.band is MatchBand.HIGH and at_home.person_id == "D2"


def test_partial_identifiers_are_possible_with_hint(store: SqliteAgencyStore) -> None:
    # Names and the postcode district only: no date of birth, no full address.
    r = match(store, QueryIdentifiers(given_name="William", family_name="Hartley",
                                      postcode="S11 9ZZ"))
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    assert "NHS number would confirm" in r.confirm_hint


def test_without_dob_high_needs_both_names_and_full_postcode(store: SqliteAgencyStore) -> None:
    q = QueryIdentifiers(given_name="William", family_name="Hartley", postcode="S11 8YA")
    assert match(store, q).band is MatchBand.HIGH
    # The bar is configurable per adapter: raised, name + address without a DOB is possible.
    strict = MatchThresholds(high_without_dob=30)
    assert match(store, q, strict).band is MatchBand.POSSIBLE
    # Only the given name and the address: a relative at the address could be meant.
    only_given = QueryIdentifiers(given_name="William", family_name="Holmes",
                                  postcode="S11 8YA")
    assert match(store, only_given).band is MatchBand.POSSIBLE


def test_father_and_son_of_one_name_without_dob_are_possible(tmp_path: Path) -> None:
    father = Person("F1", "Daniel", "Oakes", (), "1980-03-02", "male", "S8 1AB", "4 Lea Road",
                    "", "")
    son = Person("F2", "Daniel", "Oakes", (), "2010-07-19", "male", "S8 1AB", "4 Lea Road",
                 "", "")
    with StoreWriter(tmp_path / "s.sqlite", "police") as w:
        w.add_people([father, son])
    s = SqliteAgencyStore(tmp_path / "s.sqlite")
    r = match(s, QueryIdentifiers(given_name="Daniel", family_name="Oakes", postcode="S8 1AB"))
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    assert "date of birth would confirm" in r.confirm_hint
    s.close()


def test_unknown_person_is_none(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="Ottilie", family_name="Quennell",
                                      date_of_birth="2019-01-01"))
    assert r.band is MatchBand.NONE and r.person_id is None


def test_conflicting_nhs_number_is_not_sure(store: SqliteAgencyStore) -> None:
    # Right name and DOB, but a valid NHS number that belongs to someone else.
    r = match(store, QueryIdentifiers(given_name="William", family_name="Hartley",
                                      date_of_birth="2016-04-07", nhs_number="9000000009"))
    assert r.band not in (MatchBand.CERTAIN, MatchBand.HIGH)
    # The address too: name, date of birth and address outweigh a number keyed wrong --
    # but never one that is another held person's (the twin's, here).
    r = match(store, QueryIdentifiers(given_name="William", family_name="Hartley",
                                      date_of_birth="2016-04-07", postcode="S11 8YA",
                                      nhs_number="9000000009"))
    assert r.band not in (MatchBand.CERTAIN, MatchBand.HIGH)
    unheld_number = QueryIdentifiers(given_name="William", family_name="Hartley",
                                     date_of_birth="2016-04-07", postcode="S11 8YA",
                                     nhs_number="9000000025")
    r = match(store, unheld_number)
    assert r.band is MatchBand.HIGH and r.person_id == "P1"
    # Without the address the evidence does not outweigh the conflict.
    assert match(store, replace(unheld_number, postcode="")).band is MatchBand.POSSIBLE


def test_thresholds_validated() -> None:
    with pytest.raises(InvalidThresholds):
        MatchThresholds(certain=10, high=20, possible=5)
    strict = MatchThresholds(certain=DEFAULT.certain, high=DEFAULT.certain, possible=12)
    assert strict.high == DEFAULT.certain


def test_stricter_thresholds_lower_the_band(store: SqliteAgencyStore) -> None:
    q = QueryIdentifiers(given_name="William", family_name="Hartley", date_of_birth="2016-04-07")
    assert match(store, q).band is MatchBand.HIGH
    strict = MatchThresholds(certain=60, high=55, possible=12)
    assert match(store, q, strict).band is MatchBand.POSSIBLE


def test_store_path_type(store: SqliteAgencyStore) -> None:
    assert isinstance(store.path, Path)


def test_household_subjects_matched_separately(store: SqliteAgencyStore) -> None:
    from agency_adapters.matching import match_subjects

    res = match_subjects(store, [
        ("child-1", QueryIdentifiers(given_name="Olivia", family_name="Khan",
                                     date_of_birth="2018-02-10")),
        ("child-2", QueryIdentifiers(given_name="Amelia", family_name="Khan",
                                     date_of_birth="2018-02-10")),
        ("parent-1", QueryIdentifiers(given_name="Sarah", family_name="Oldroyd",
                                      date_of_birth="1989-10-03")),
    ])
    assert list(res) == ["child-1", "child-2", "parent-1"]
    assert [r.person_id for r in res.values()] == ["T1", "T2", "M1"]


def test_two_subjects_resolving_to_one_person_are_not_sure(store: SqliteAgencyStore) -> None:
    from agency_adapters.matching import match_subjects

    q = QueryIdentifiers(given_name="William", family_name="Hartley", date_of_birth="2016-04-07")
    res = match_subjects(store, [("child-1", q), ("household-1", q)])
    assert all(r.band is MatchBand.POSSIBLE and r.person_id is None for r in res.values())
