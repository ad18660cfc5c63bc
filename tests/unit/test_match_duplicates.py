"""Records of one person in a store are one candidate: shared NHS number, or the agency's link."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from agency_adapters.backend import Person, QueryIdentifiers, Record
from agency_adapters.matching import match, match_subjects
from agency_adapters.matching.matcher import same_person
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import Category, MatchBand

# 943 476 5919 is the NHS's own published example of a valid number.
AMY = Person("A1", "Amy", "Walker", (), "2013-06-09", "female", "S6 2AB", "4 Mill Lane",
             "9434765919", "")
AMY_AGAIN = replace(AMY, person_id="A2", postcode="S7 1AA", address="9 Oak Road")  # moved
# A copied sibling's number: same NHS number, another given name and date of birth.
BROTHER = Person("B1", "Tom", "Walker", (), "2010-01-22", "male", "S6 2AB", "4 Mill Lane",
                 "9434765919", "")
ZOE = Person("Z1", "Zoe", "Hart", (), "2016-03-03", "female", "S1 4QQ", "2 Elm Road", "", "")
ZOE_LINKED = replace(ZOE, person_id="Z2", postcode="S1 4QR", linked_to="Z1")
OTHER = Person("O1", "Ben", "Ellis", (), "1990-10-10", "male", "S3 8JJ", "1 Low Road", "", "")


def _store(tmp_path: Path, people: list[Person]) -> SqliteAgencyStore:
    with StoreWriter(tmp_path / "s.sqlite", "health") as w:
        w.add_people(people)
        w.add_records([Record(f"R-{p.person_id}", p.person_id, Category.GP_REGISTRATION,
                              "2024-01-01", f"seen ({p.person_id})") for p in people])
    return SqliteAgencyStore(tmp_path / "s.sqlite")


NOT_SURE = (MatchBand.POSSIBLE, MatchBand.NONE)
AMY_QUERY = QueryIdentifiers(given_name="Amy", family_name="Walker", date_of_birth="2013-06-09")


def test_two_records_sharing_an_nhs_number_are_one_candidate(tmp_path: Path) -> None:
    store = _store(tmp_path, [AMY, AMY_AGAIN, OTHER])
    result = match(store, AMY_QUERY)
    assert result.band is MatchBand.HIGH
    assert result.person_id in ("A1", "A2") and result.same_as == "A1"
    # Disclosure covers both records of the one person.
    records = store.records_for(result.person_id or "", [Category.GP_REGISTRATION])
    assert {r.record_id for r in records} == {"R-A1", "R-A2"}
    assert {p.linked_to for p in store.people(["A1", "A2", "O1"])} == {"A1", ""}


def test_without_the_link_the_same_records_are_an_ambiguity(tmp_path: Path) -> None:
    # Same two records without the shared number: two strong candidates, never guessed.
    store = _store(tmp_path, [replace(AMY, nhs_number=""), replace(AMY_AGAIN, nhs_number=""),
                              OTHER])
    result = match(store, AMY_QUERY)
    assert result.band is MatchBand.POSSIBLE
    assert "more than one person" in result.confirm_hint


def test_a_copied_sibling_number_links_nobody(tmp_path: Path) -> None:
    store = _store(tmp_path, [AMY, BROTHER])
    assert {p.linked_to for p in store.people(["A1", "B1"])} == {""}
    assert store.records_for("A1", [Category.GP_REGISTRATION])[0].record_id == "R-A1"
    assert len(store.records_for("A1", [Category.GP_REGISTRATION])) == 1


def test_the_agencys_own_link_makes_one_candidate(tmp_path: Path) -> None:
    store = _store(tmp_path, [ZOE, ZOE_LINKED, OTHER])
    result = match(store, QueryIdentifiers(given_name="Zoe", family_name="Hart",
                                           date_of_birth="2016-03-03"))
    assert result.band is MatchBand.HIGH and result.same_as == "Z1"


def test_two_subjects_on_two_records_of_one_person_are_not_sure(tmp_path: Path) -> None:
    store = _store(tmp_path, [AMY, AMY_AGAIN, OTHER])
    by_postcode = QueryIdentifiers(given_name="Amy", family_name="Walker",
                                   date_of_birth="2013-06-09", postcode="S7 1AA")
    results = match_subjects(store, [("s1", AMY_QUERY), ("s2", by_postcode)])
    assert {r.band for r in results.values()} == {MatchBand.POSSIBLE}


def test_a_store_of_the_first_schema_still_reads(tmp_path: Path) -> None:
    store = _store(tmp_path, [AMY, AMY_AGAIN, OTHER])
    store.close()
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    conn.execute("DROP INDEX people_by_link")
    conn.execute("ALTER TABLE people DROP COLUMN linked_to")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.execute("PRAGMA user_version = 0")  # as the first schema left it
    conn.commit()
    conn.close()
    old = SqliteAgencyStore(tmp_path / "s.sqlite")
    assert {p.linked_to for p in old.people(["A1", "A2"])} == {""}
    # Nobody linked, yet the two records are plainly one another's duplicate (same number,
    # name and date of birth): still one candidate.
    assert match(old, AMY_QUERY).band is MatchBand.HIGH
    assert len(old.records_for("A1", [Category.GP_REGISTRATION])) == 1


def test_a_verified_number_and_the_full_name_outweigh_a_wrong_date(tmp_path: Path) -> None:
    store = _store(tmp_path, [AMY, OTHER])
    wrong_date = QueryIdentifiers(given_name="Amy", family_name="Walker",
                                  date_of_birth="2009-01-17", postcode="S6 2AB",
                                  nhs_number="943 476 5919")
    result = match(store, wrong_date)
    assert result.band is MatchBand.CERTAIN and result.person_id == "A1"
    # The same number with another given name may be a sibling's, copied: never sure.
    brother = replace(wrong_date, given_name="Tom")
    assert match(store, brother).band is MatchBand.POSSIBLE
    # Without the number the wrong date keeps it below the sure bands.
    assert match(store, replace(wrong_date, nhs_number="")).band is MatchBand.POSSIBLE


def test_a_verified_number_and_the_full_name_outweigh_a_wrong_date_at_another_address(
        tmp_path: Path) -> None:
    # The date keyed wrong and an address the agency does not hold: short of `certain`
    # (23 + 15 - 10 - 3 = 25 bits), still `high`.
    store = _store(tmp_path, [AMY, OTHER])
    asked = QueryIdentifiers(given_name="Amy", family_name="Walker", date_of_birth="2009-01-17",
                             postcode="S9 9ZZ", nhs_number="943 476 5919")
    result = match(store, asked)
    assert result.band is MatchBand.HIGH and result.person_id == "A1", result
    # A sibling's number, copied: another given name, never sure.
    assert match(store, replace(asked, given_name="Tom")).band in NOT_SURE
    # Outside the ages the subject's role allows (an adult asked about as a child): not sure.
    child = replace(asked, born_between=("2016-12-07", "2026-12-06"))
    assert match(store, child).band in NOT_SURE


# An unlinked duplicate as agencies key them: the surname mistyped, no NHS number.
AMY_TYPO = replace(AMY, person_id="A3", family_name="Walkre", nhs_number="", address="4 Mil Lane")
TWIN = replace(AMY, person_id="T1", given_name="Erin", nhs_number="")
MOTHER = replace(AMY, person_id="M1", date_of_birth="1988-02-14", nhs_number="")
NAMESAKE = replace(AMY, person_id="N1", postcode="S12 9XX", address="7 Ash Grove", nhs_number="")


def test_records_that_are_plainly_one_person_are_one_candidate(tmp_path: Path) -> None:
    # Same name, date of birth and address, one surname mistyped: the runner-up is no
    # other person, so the lead over it is not asked for.
    store = _store(tmp_path, [AMY, AMY_TYPO, OTHER])
    result = match(store, replace(AMY_QUERY, postcode="S6 2AB"))
    assert result.band is MatchBand.CERTAIN or result.band is MatchBand.HIGH
    assert result.person_id == "A1"
    assert same_person(AMY, AMY_TYPO) and same_person(AMY_TYPO, AMY)


def test_relatives_and_namesakes_are_never_one_person(tmp_path: Path) -> None:
    # A twin (another given name), a mother with her daughter's name (another date of
    # birth), a namesake born the same day elsewhere (name and date alone are not enough).
    for other in (TWIN, MOTHER, NAMESAKE):
        assert not same_person(AMY, other), other.person_id
    store = _store(tmp_path, [replace(AMY, nhs_number=""), NAMESAKE, OTHER])
    result = match(store, AMY_QUERY)  # no postcode: either Amy could be meant
    assert result.band is MatchBand.POSSIBLE and "more than one person" in result.confirm_hint


def test_a_verified_number_and_the_full_name_without_a_date_are_high(tmp_path: Path) -> None:
    store = _store(tmp_path, [replace(AMY, date_of_birth=None), OTHER])
    moved = QueryIdentifiers(given_name="Amy", family_name="Walker", postcode="S9 9ZZ",
                             nhs_number="943 476 5919")
    assert match(store, moved).band is MatchBand.HIGH
    # Another given name with the same number (a sibling's, copied) stays possible.
    sibling = replace(moved, given_name="Tom")
    assert match(store, sibling).band is MatchBand.POSSIBLE


def test_a_verified_number_without_a_date_respects_the_roles_ages(tmp_path: Path) -> None:
    # The record's date says an adult; the referral asks about a child: not sure.
    store = _store(tmp_path, [replace(AMY, date_of_birth="1980-01-01"), OTHER])
    child = QueryIdentifiers(given_name="Amy", family_name="Walker", postcode="S9 9ZZ",
                             nhs_number="943 476 5919", born_between=("2008-12-07", "2026-12-06"))
    assert match(store, child).band is MatchBand.POSSIBLE
    assert match(store, replace(child, born_between=None)).band is MatchBand.HIGH
