"""Recall at 1,000,000 people: a day/month swap with a slip, and the m/u tools."""

from __future__ import annotations

from datetime import date

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.matcher import decide, score_candidates
from agency_adapters.matching.scoring import (
    W_DOB_DISAGREE,
    W_DOB_SWAPPED_SLIP,
    compare_dob,
)
from mash.vocab import MatchBand


def _person(pid: str, given: str, family: str, dob: str | None, postcode: str,
            sex: str = "male") -> Person:
    return Person(pid, given, family, (), dob, sex, postcode, "", "", "")


def test_swapped_day_and_month_with_a_slip_is_a_weak_level_not_an_agreement() -> None:
    # Referral 1979-07-08 (day and month swapped), record 1979-08-06 (a slip in the day).
    w, agrees = compare_dob(date(1979, 7, 8), date(1979, 8, 6))
    assert w == W_DOB_SWAPPED_SLIP > W_DOB_DISAGREE
    assert not agrees  # two keying errors never make a match sure
    assert compare_dob(date(1979, 7, 8), date(1980, 8, 7)) == (W_DOB_SWAPPED_SLIP, False)
    assert compare_dob(date(1979, 7, 8), date(1979, 9, 6)) == (W_DOB_DISAGREE, False)
    assert compare_dob(date(1979, 7, 20), date(1979, 8, 6)) == (W_DOB_DISAGREE, False)


def test_swapped_dob_with_a_slip_outranks_a_namesake_with_a_different_surname() -> None:
    q = QueryIdentifiers(given_name="Lauren", family_name="Pritchard",
                         date_of_birth="1979-07-08")
    right = _person("B1", "Lauren", "Pritchard", "1979-08-06", "S9 2FY", "female")
    other = _person("A1", "Lauren", "Robertson", "1979-07-07", "S20 6EX", "female")
    ranked = score_candidates(q, [other, right])
    assert [p.person_id for _, p in ranked] == ["B1", "A1"]
    r = decide(q, ranked)
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
