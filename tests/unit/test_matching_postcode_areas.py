"""Recall at 1,000,000 people: a shared postcode sector or district is not evidence."""

from __future__ import annotations

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.matcher import score_candidates
from agency_adapters.matching.scoring import (
    W_POSTCODE_DISAGREE,
    W_POSTCODE_EXACT,
    W_SECOND_EDIT,
    compare,
    compare_family,
    compare_given,
)


def _at(postcode: str, given: str = "James", pid: str = "P1") -> Person:
    return Person(pid, given, "Lewis", (), None, "male", postcode, "", "", "")


def test_sector_or_district_agreement_weighs_as_a_different_postcode() -> None:
    q = QueryIdentifiers(given_name="James", family_name="Lewis", postcode="S11 2ZJ")
    exact = compare(q, _at("S11 2ZJ")).weight
    same_sector = compare(q, _at("S11 2ZA")).weight
    same_district = compare(q, _at("S11 9AB")).weight
    elsewhere = compare(q, _at("S4 1AA")).weight
    assert same_sector == same_district == elsewhere
    assert exact - elsewhere == W_POSTCODE_EXACT - W_POSTCODE_DISAGREE


def test_namesake_near_the_referral_address_does_not_outrank_a_stale_exact_name() -> None:
    # The right James Lewis is held at an old address; a Jamie Lewis lives in the
    # query's sector. A nickname is weaker evidence than the exact name, and living
    # near the address given is no evidence at all (a stale address is rarely nearby).
    q = QueryIdentifiers(given_name="James", family_name="Lewis", postcode="S11 2ZJ")
    right = _at("S10 3GS", "James", "R1")
    near = _at("S11 2ZA", "Jamie", "N1")
    ranked = score_candidates(q, [near, right])
    assert [p.person_id for _, p in ranked] == ["R1", "N1"]


def test_a_second_keying_error_weighs_less_than_one() -> None:
    one = compare_given(("loouise",), ("louise",))
    two = compare_given(("loouise",), ("louis",))
    assert one - two == -W_SECOND_EDIT > 0
    assert two > 0  # still a (weak) agreement, not a contradiction
    assert compare_family(("walterrs",), ("walters",)) - compare_family(
        ("walterrs",), ("waters",)) == -W_SECOND_EDIT


def test_one_typo_outranks_two_typos() -> None:
    # "Loouise" is one letter from Louise and two from Louis: Louise is the likelier person,
    # even when Louis's record id sorts first.
    q = QueryIdentifiers(given_name="Loouise", family_name="Davis")
    louis = Person("A1", "Louis", "Davis", (), "1998-06-27", "male", "S8 4LX", "", "", "")
    louise = Person("B1", "Louise", "Davis", (), None, "female", "S13 3DX", "", "", "")
    ranked = score_candidates(q, [louis, louise])
    assert [p.person_id for _, p in ranked] == ["B1", "A1"]
