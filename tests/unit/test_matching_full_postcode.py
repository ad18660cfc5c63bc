"""Recall: the full postcode as a blocking key and as strong evidence."""

from __future__ import annotations

from pathlib import Path

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import MatchThresholds, match
from agency_adapters.matching.blocking import person_keys, query_keys
from agency_adapters.matching.matcher import decide, score_candidates
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import MatchBand

KATARZYNA = Person("K1", "Katarzyna", "Jones", (), "1969-07-09", "female", "S4 6LD",
                   "7 Ash Grove", "", "")
# Held under a surname the referrer does not use, at the address the referrer gives.
PAIGE_HERE = Person("Z1", "Paige", "Kent", (), "1997-10-10", "female", "S7 7XW",
                    "2 Vale Road", "", "")
# A stranger with the referrer's names, elsewhere (sorts first on id: a tie would pick her).
PAIGE_ELSEWHERE = Person("A1", "Paige", "Bishop", (), "2003-05-03", "female", "S12 9JJ",
                         "40 Park Lane", "", "")


def _store(tmp_path: Path, people: list[Person]) -> SqliteAgencyStore:
    with StoreWriter(tmp_path / "s.sqlite", "health") as w:
        w.add_people(people)
    return SqliteAgencyStore(tmp_path / "s.sqlite")


def test_both_names_mistyped_with_a_dob_slip_are_found_at_the_address(tmp_path: Path) -> None:
    # Soundex of both names and the month-day all differ: only the postcode is left intact.
    q = QueryIdentifiers(given_name="Kataryna", family_name="Jonea",
                         date_of_birth="1969-07-10", postcode="S4 6LD")
    assert "pc:S4 6LD" in set(query_keys(q)) & set(person_keys(KATARZYNA))
    s = _store(tmp_path, [KATARZYNA])
    assert [p.person_id for p in s.candidates(q)] == ["K1"]
    assert match(s, q).band is not MatchBand.NONE
    s.close()


def test_address_outranks_a_same_named_stranger_without_dob(tmp_path: Path) -> None:
    s = _store(tmp_path, [PAIGE_HERE, PAIGE_ELSEWHERE])
    q = QueryIdentifiers(given_name="Paige", family_name="Bishop", postcode="S7 7XW")
    people = s.candidates(q)
    assert {p.person_id for p in people} == {"Z1", "A1"}
    scored = score_candidates(q, people, s.name_frequencies())
    # A full postcode is shared by ~1 in 20,000 strangers: it outweighs an exact surname
    # (at +8 the two were a toss-up, decided by the order of the record ids).
    assert scored[0][1].person_id == "Z1" and scored[0][0].weight - scored[1][0].weight >= 3
    # Still only possible: the surname disagrees and no date of birth corroborates.
    r = decide(q, scored)
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    s.close()


def test_documented_strict_setting_keeps_no_dob_possible(tmp_path: Path) -> None:
    # docs/matching.md: `high_without_dob = 34` restores "no DOB -> possible" for names of
    # ordinary rarity (7 + 8 bits) at the full postcode (12): 27 < 34, while the default
    # bar (24) moved up with the postcode weight by the same 4 bits.
    a = Person("J1", "John", "Smith", (), "1970-01-01", "male", "S1 1AA", "1 A St", "", "")
    s = _store(tmp_path, [a])
    q = QueryIdentifiers(given_name="John", family_name="Smith", postcode="S1 1AA")
    assert match(s, q).band is MatchBand.HIGH
    r = match(s, q, MatchThresholds(high_without_dob=34))
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    assert match(s, q, MatchThresholds(high_without_dob=28)).band is MatchBand.POSSIBLE
    s.close()
