"""Name-frequency weights, the DOB-less high rule, and the blocking keys added for recall."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import match
from agency_adapters.matching.blocking import person_keys, query_keys
from agency_adapters.matching.frequencies import (
    FAMILY_BOUNDS,
    GIVEN_BOUNDS,
    NameCounter,
    NameFrequencies,
)
from agency_adapters.matching.scoring import W_FAMILY_EXACT, W_GIVEN_EXACT, compare, prepare
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import MatchBand

BIG = NameFrequencies(total=1_000_000, given={"grace": 5_000, "ottilie": 3},
                      family={"smith": 20_000, "quennell": 4, "hill": 3_000})


def test_rare_surname_weighs_more_than_common() -> None:
    smith = BIG.family_weight(("smith",), W_FAMILY_EXACT)
    rare = BIG.family_weight(("quennell",), W_FAMILY_EXACT)
    assert smith < W_FAMILY_EXACT < rare
    assert smith == pytest.approx(5.6, abs=0.1)  # log2(1/0.02)
    assert FAMILY_BOUNDS[0] <= smith and rare <= FAMILY_BOUNDS[1]


def test_rare_given_name_weighs_more_than_common() -> None:
    assert (BIG.given_weight("grace", W_GIVEN_EXACT) < BIG.given_weight("ottilie", W_GIVEN_EXACT)
            <= GIVEN_BOUNDS[1])


def test_small_store_keeps_flat_weights() -> None:
    # Ten people: their own counts mean little, so weights stay near the flat ones.
    small = NameFrequencies(total=10, given={"grace": 1}, family={"smith": 1})
    assert small.family_weight(("smith",), W_FAMILY_EXACT) == pytest.approx(W_FAMILY_EXACT,
                                                                              abs=0.5)
    assert small.given_weight("grace", W_GIVEN_EXACT) == pytest.approx(W_GIVEN_EXACT, abs=0.5)


def test_counter_counts_barrel_words_and_round_trips() -> None:
    c = NameCounter()
    c.add("Grace Ann", "Hill-Smith")
    c.add("grace", "Smith")
    f = NameFrequencies.from_rows(c.rows())
    assert f.total == 2
    assert f.given == {"grace": 2}
    assert f.family["smith"] == 2 and f.family["hill smith"] == 1 and f.family["hill"] == 1


def test_scoring_uses_frequencies() -> None:
    q = QueryIdentifiers(given_name="Ottilie", family_name="Quennell", date_of_birth="2015-01-02")
    rare = Person("P1", "Ottilie", "Quennell", (), "2015-01-02", "female", "", "", "", "")
    common = Person("P2", "Grace", "Smith", (), "2015-01-02", "female", "", "", "", "")
    qc = QueryIdentifiers(given_name="Grace", family_name="Smith", date_of_birth="2015-01-02")
    flat = compare(prepare(q), rare).weight
    assert compare(prepare(q, BIG), rare).weight > flat
    assert compare(prepare(qc, BIG), common).weight < compare(prepare(qc), common).weight
    # Disagreement is never softened by rarity.
    assert compare(prepare(qc, BIG), rare).weight == compare(prepare(qc), rare).weight


def _store(tmp_path: Path, people: list[Person]) -> SqliteAgencyStore:
    with StoreWriter(tmp_path / "s.sqlite", "health") as w:
        w.add_people(people)
    return SqliteAgencyStore(tmp_path / "s.sqlite")


def test_store_serves_its_frequencies(tmp_path: Path) -> None:
    s = _store(tmp_path, [Person("P1", "Grace", "Hill", (), "2015-01-02", "female", "S1 1AA",
                                 "", "", "")])
    f = s.name_frequencies()
    assert f is not None and f.total == 1 and f.family == {"hill": 1}
    s.close()


def test_store_without_frequencies_falls_back_to_flat_weights(tmp_path: Path) -> None:
    p = Person("P1", "Grace", "Hill", (), "2015-01-02", "female", "S1 1AA", "", "", "")
    s = _store(tmp_path, [p])
    s.close()
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    conn.execute("DROP TABLE name_freq")
    conn.commit()
    conn.close()
    old = SqliteAgencyStore(tmp_path / "s.sqlite")
    assert old.name_frequencies() is None
    r = match(old, QueryIdentifiers(given_name="Grace", family_name="Hill",
                                    date_of_birth="2015-01-02"))
    assert r.band is MatchBand.HIGH and r.person_id == "P1"
    old.close()


def test_dob_less_high_refused_when_names_only_partly_agree(tmp_path: Path) -> None:
    s = _store(tmp_path, [Person("P1", "Grace", "Hill", (), "2015-01-02", "female", "S1 1AA",
                                 "", "", "")])
    # A typo in the surname and no DOB: enough to say "possible", never to disclose. (No
    # postcode: another unit in the same sector is no evidence, and would cost 3 bits.)
    r = match(s, QueryIdentifiers(given_name="Grace", family_name="Hil"))
    assert r.band is MatchBand.POSSIBLE and r.person_id is None
    s.close()


@pytest.mark.parametrize(("query", "why"), [
    (QueryIdentifiers(given_name="Tomym", family_name="Walke", date_of_birth="2016-11-22",
                      postcode="S4 2PS"), "both names mistyped and the year wrong: pmd"),
    (QueryIdentifiers(given_name="Dorothy", family_name="Raahid", date_of_birth="1992-04-02"),
     "surname mistyped and the year wrong, no postcode: gmd"),
    (QueryIdentifiers(given_name="Elaine", family_name="Mconald", date_of_birth="1991-10-17"),
     "surname mistyped and the day slipped, no postcode: gym"),
])
def test_two_errors_still_share_a_blocking_key(query: QueryIdentifiers, why: str) -> None:
    records = {
        "Tomym": Person("A", "Tommy", "Walker", (), "2015-11-22", "male", "S4 2PS", "", "", ""),
        "Dorothy": Person("B", "Dorothy", "Rashid", (), "1993-04-02", "female", "S3 3UL", "", "",
                          ""),
        "Elaine": Person("C", "Elaine", "McDonald", (), "1991-10-18", "female", "S6 9WD", "",
                         "", ""),
    }
    person = records[query.given_name]
    assert set(person_keys(person)) & set(query_keys(query)), why


def test_names_alone_key_is_looked_up_last() -> None:
    # No postcode: the names-alone key is needed, and read after every selective key.
    keys = query_keys(QueryIdentifiers(given_name="Grace", family_name="Hill",
                                       date_of_birth="2015-01-02"))
    gf = [i for i, k in enumerate(keys) if k.startswith("gf:")]
    assert "gf:G620:H400" in keys
    # Only the typo-tolerant forms of the names-alone key (gf2:, g2f:) come after it.
    selective = [i for i, k in enumerate(keys) if not k.startswith(("gf:", "gf2:", "g2f:"))]
    assert gf and min(gf) > max(selective)


def test_record_without_dob_found_despite_a_stale_postcode() -> None:
    # The agency holds no DOB; the referrer gives one, and an address the person has left.
    held = Person("R", "Christian", "Hawkins", (), None, "male", "S8 6GA", "", "", "")
    q = QueryIdentifiers(given_name="Christian", family_name="Hawkins",
                         date_of_birth="1967-10-31", postcode="S4 2ZE")
    assert "gf:C623:H252" not in query_keys(q)  # names alone are not read for this query
    assert set(person_keys(held)) & set(query_keys(q))
