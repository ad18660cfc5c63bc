"""Recall at 1,000,000 people: names alone with a typo that changes a Soundex code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import decide, match, score_candidates
from agency_adapters.matching.blocking import person_keys, phonetic, query_keys
from agency_adapters.matching.scoring import W_GIVEN_DISAGREE, compare, compare_given
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import MatchBand

KEIRA = Person("K1", "Keira", "Barlow", (), "2014-09-28", "female", "S17 9SZ",
               "3 Mill Lane", "", "")
# Held without a date of birth: found by names only.
JOEL = Person("J1", "Joel", "Stevens", (), "1952-07-27", "male", "S5 4GF", "1 Elm Row", "", "")
# Held with a middle name, without a date of birth.
HANNAH_KAYLEIGH = Person("H1", "Hannah Kayleigh", "Powell", (), None, "female", "S8 8EN",
                         "5 Hill Street", "", "")
VINCENT = Person("V1", "Vincent", "Foster", (), None, "male", "S9 8WR", "8 Oak Road", "", "")


def _store(tmp_path: Path, people: list[Person]) -> SqliteAgencyStore:
    with StoreWriter(tmp_path / "s.sqlite", "health") as w:
        w.add_people(people)
    return SqliteAgencyStore(tmp_path / "s.sqlite")


def test_surname_typo_that_changes_soundex_is_found_by_name_alone(tmp_path: Path) -> None:
    q = QueryIdentifiers(given_name="Keira", family_name="Barpow")
    # The typo changes the surname's Soundex code, so no phonetic-only key agrees ...
    assert phonetic("barpow") != phonetic("barlow")
    shared = set(query_keys(q)) & set(person_keys(KEIRA))
    # ... but the given name's code with the surname's first two letters does.
    assert shared == {"gf2:K600:ba"}
    s = _store(tmp_path, [KEIRA])
    assert [p.person_id for p in s.candidates(q)] == ["K1"]
    r = match(s, q)
    # Names alone never make a sure match; the answer is possible and names nobody.
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    s.close()


def test_given_name_typo_that_changes_soundex_finds_a_record_without_dob(
        tmp_path: Path) -> None:
    q = QueryIdentifiers(given_name="Vincetn", family_name="Fosteer",
                         date_of_birth="1971-12-22")
    assert phonetic("vincetn") != phonetic("vincent")
    shared = set(query_keys(q)) & set(person_keys(VINCENT))
    assert shared == {"g2f:vi:F236"}
    s = _store(tmp_path, [VINCENT])
    assert [p.person_id for p in s.candidates(q)] == ["V1"]
    s.close()


def test_prefix_keys_are_looked_up_after_names_alone() -> None:
    # They are the least selective keys: the candidate cap goes to the others first.
    keys = query_keys(QueryIdentifiers(given_name="Keira", family_name="Barpow"))
    first_prefix = min(i for i, k in enumerate(keys) if k.startswith(("gf2:", "g2f:")))
    assert all(k.startswith(("gf2:", "g2f:")) for k in keys[first_prefix:])
    assert any(k.startswith("gf:") for k in keys[:first_prefix])


def test_prefix_keys_only_when_the_query_lacks_a_dob_or_a_postcode() -> None:
    full = QueryIdentifiers(given_name="Keira", family_name="Barpow",
                            date_of_birth="2014-09-28", postcode="S17 9SZ")
    # Any key agrees for a query this complete; the names alone would add candidates only.
    assert not any(k.startswith(("gf2:", "g2f:")) for k in query_keys(full))
    missing_dob = QueryIdentifiers(given_name="Keira", family_name="Barpow", postcode="S17 9SZ")
    assert "gf2:K600:ba" in query_keys(missing_dob)


def test_typo_in_the_third_letter_is_found_by_the_first_two(tmp_path: Path) -> None:
    q = QueryIdentifiers(given_name="Jodl", family_name="Stevens", postcode="S36 1SB")
    assert phonetic("jodl") != phonetic("joel")
    assert set(query_keys(q)) & set(person_keys(JOEL)) == {"g2f:jo:S315"}
    s = _store(tmp_path, [JOEL])
    assert [p.person_id for p in s.candidates(q)] == ["J1"]
    s.close()


def test_middle_name_used_as_first_finds_a_record_without_dob(tmp_path: Path) -> None:
    # The referrer knows her by her middle name and gives a DOB the agency does not hold.
    q = QueryIdentifiers(given_name="Kayleigh", family_name="Powell", date_of_birth="2009-01-20")
    assert "gfx:K420:P400" in set(query_keys(q)) & set(person_keys(HANNAH_KAYLEIGH))
    s = _store(tmp_path, [HANNAH_KAYLEIGH])
    assert [p.person_id for p in s.candidates(q)] == ["H1"]
    s.close()


def test_twin_name_is_not_a_typo_of_a_nickname() -> None:
    # Teddy and Freddie Reid are twins. "Freddie" is two letters from "Eddie" (a form of
    # Teddy's name): counting that as a nickname typo (+3.5 bits) left the right twin
    # within the margin, so a sure match on the right twin fell to possible.
    assert compare_given(("teddy",), ("freddie",)) == W_GIVEN_DISAGREE
    # A nickname with one keying error still counts.
    assert compare_given(("florrie",), ("florencee",)) > 0


def test_query_middle_name_finds_a_record_held_by_it_without_dob(tmp_path: Path) -> None:
    # The other way round: the referrer gives both names, the agency holds the middle one
    # as the given name, no DOB, at another address -- only `gfx:` by name can find her.
    held = Person("K2", "Kayleigh", "Powell", (), None, "female", "S8 8EN", "", "", "")
    q = QueryIdentifiers(given_name="Hannah Kayleigh", family_name="Powell",
                         date_of_birth="2009-01-20", postcode="S1 1AA")
    assert set(query_keys(q)) & set(person_keys(held)) == {"gfx:K420:P400"}
    s = _store(tmp_path, [held])
    assert [p.person_id for p in s.candidates(q)] == ["K2"]
    s.close()


def test_a_space_keyed_inside_a_given_name_is_a_typo() -> None:
    assert compare_given(("ca", "itlin"), ("caitlin",)) == compare_given(("caitlyn",), ("caitlin",))
    assert compare_given(("ca", "itlin"), ("caitlin",)) > 0


def test_two_listed_names_two_keying_errors_apart_are_two_names() -> None:
    # Twins Teddy and Freddie Reid; asked for as Eddie (a form of Teddy's name). Freddie is
    # two letters from Eddie, and as a "typo" (+1) he came within 4.5 bits of Teddy: the
    # right twin was held down to `possible`.
    asked = QueryIdentifiers(given_name="Eddie", family_name="Reid", date_of_birth="2023-03-24",
                             postcode="S7 8TG")
    teddy = Person("P1", "Teddy Riley", "Reid", (), "2023-03-24", "male", "S7 8TG")
    freddie = replace(teddy, person_id="P2", given_name="Freddie Ali")
    levels = dict((f, lv) for f, lv, _ in compare(asked, freddie, explain=True).levels)
    assert levels["given"] == "different", levels
    result = decide(asked, score_candidates(asked, [freddie, teddy]))
    assert result.band is MatchBand.HIGH and result.person_id == "P1", result
    # A name two errors from a listed name that is not itself one stays a typo.
    mistyped = replace(asked, given_name="Fredddiie")
    assert dict((f, lv) for f, lv, _ in compare(mistyped, freddie, explain=True).levels)[
        "given"] == "typo2"
