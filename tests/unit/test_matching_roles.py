"""Only one of a same-named father and son is held: a referral about the other, with no date of
birth, must never land on him as a sure match -- the role's age range rules him out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import match
from agency_adapters.matching.roles import birth_range_for
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import MatchBand, SubjectRole

TODAY = date(2026, 11, 25)
FATHER = Person("F1", "Daniel", "Oakes", (), "1980-03-02", "male", "S8 1AB", "4 Lea Road", "", "")
SON = Person("S1", "Daniel", "Oakes", (), "2010-07-19", "male", "S8 1AB", "4 Lea Road", "", "")
BY_NAME_AND_ADDRESS = QueryIdentifiers(given_name="Daniel", family_name="Oakes", postcode="S8 1AB")


def _store(tmp_path: Path, person: Person) -> SqliteAgencyStore:
    with StoreWriter(tmp_path / "s.sqlite", "police") as w:
        w.add_people([person])
    return SqliteAgencyStore(tmp_path / "s.sqlite")


@pytest.mark.parametrize(("held", "asked_as", "sure"), [
    (FATHER, SubjectRole.CHILD, False),          # referral about the son: the father is ruled out
    (SON, SubjectRole.PARENT_CARER, True),       # a 16-year-old can be a parent: not ruled out
    (SON, SubjectRole.ADULT_AT_RISK, False),     # an adult at risk is not 16
    (SON, SubjectRole.CHILD, True),              # the control: the right person
    (FATHER, SubjectRole.PARENT_CARER, True),    # the control: the right person
])
def test_role_age_range_decides_a_match_without_date_of_birth(
    tmp_path: Path, held: Person, asked_as: SubjectRole, sure: bool
) -> None:
    store = _store(tmp_path, held)
    query = replace(BY_NAME_AND_ADDRESS, born_between=birth_range_for(asked_as, TODAY))
    result = match(store, query)
    store.close()
    assert (result.band in (MatchBand.CERTAIN, MatchBand.HIGH)) is sure
    if not sure:
        assert result.person_id is None


def test_birth_ranges() -> None:
    assert birth_range_for(SubjectRole.CHILD, TODAY) == ("2008-11-26", "2026-11-25")
    assert birth_range_for(SubjectRole.ADULT_AT_RISK, TODAY) == ("0001-01-01", "2008-11-25")
    assert birth_range_for(SubjectRole.HOUSEHOLD_MEMBER, TODAY) is None
    assert birth_range_for(SubjectRole.CHILD, date(2028, 2, 29))[0] == "2010-03-01"
