"""Reading blocking keys in one compound statement gives exactly the key-by-key candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.blocking import query_keys
from agency_adapters.sqlite_store import (
    MAX_CANDIDATES,
    PER_KEY_LIMIT,
    SqliteAgencyStore,
    StoreWriter,
)


def _reference(store: SqliteAgencyStore, q: QueryIdentifiers) -> list[str]:
    conn = store._conn()
    ids: dict[str, None] = {}
    for key in query_keys(q):
        for (pid,) in conn.execute("SELECT person_id FROM blocking WHERE key = ? LIMIT ?",
                                   (key, PER_KEY_LIMIT)):
            ids.setdefault(pid, None)
        if len(ids) >= MAX_CANDIDATES:
            break
    return list(ids)[:MAX_CANDIDATES]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SqliteAgencyStore:
    path: Path = tmp_path_factory.mktemp("cand") / "s.sqlite"
    people = [Person(f"S{i:04d}", f"Given{i % 7}", ["Smith", "Khan", "Jones"][i % 3], (),
                     f"2010-0{1 + i % 3}-0{1 + i % 5}", "male", f"S{i % 4} 1AA", f"{i} Mill Lane",
                     "", "") for i in range(1500)]
    # A degenerate block: more people share one date of birth than one key may return.
    people += [Person(f"D{i:04d}", f"Name{i}", f"Fam{i}", (), "2011-05-05", "female", "",
                      "", "", "") for i in range(PER_KEY_LIMIT + 100)]
    with StoreWriter(path, "police") as w:
        w.add_people(people)
    return SqliteAgencyStore(path)


@pytest.mark.parametrize("q", [
    QueryIdentifiers(given_name="Given1", family_name="Smith", date_of_birth="2010-01-01",
                     postcode="S1 1AA"),
    QueryIdentifiers(family_name="Khan", date_of_birth="2010-02-03"),
    QueryIdentifiers(given_name="Given3", family_name="Jones"),
    QueryIdentifiers(given_name="Smith", family_name="Given1", postcode="S2 1AA"),
    QueryIdentifiers(family_name="Nobody"),
])
def test_candidates_are_those_of_a_key_by_key_read(store: SqliteAgencyStore,
                                                   q: QueryIdentifiers) -> None:
    got = [p.person_id for p in store.candidates(q)]
    assert sorted(got) == sorted(_reference(store, q))
    assert len(got) <= MAX_CANDIDATES


def test_a_degenerate_block_is_still_cut_at_the_per_key_limit(store: SqliteAgencyStore) -> None:
    q = QueryIdentifiers(family_name="Fam1", date_of_birth="2011-05-05")
    ref = _reference(store, q)
    assert PER_KEY_LIMIT <= len(ref) < PER_KEY_LIMIT + 100
    assert sorted(p.person_id for p in store.candidates(q)) == sorted(ref)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> SqliteAgencyStore:
    """Four big families without dates of birth: one query's keys find more than the cap."""
    path: Path = tmp_path_factory.mktemp("crowd") / "s.sqlite"
    families = ["Alpha", "Bravo", "Charlie", "Delta"]
    people = [Person(f"C{i:04d}", f"Given{i % 11}", families[i % 4], (), None, "female",
                     "", "", "", "") for i in range(4 * (PER_KEY_LIMIT + 50))]
    with StoreWriter(path, "police") as w:
        w.add_people(people)
    return SqliteAgencyStore(path)


def test_past_the_cap_the_first_candidates_in_key_order_are_kept(
        crowded: SqliteAgencyStore) -> None:
    # Which people are kept past the cap depends on key order: the exact read decides.
    q = QueryIdentifiers(given_name="Given1", family_name="Alpha",
                         other_names=("Bravo", "Charlie", "Delta"))
    ref = _reference(crowded, q)
    assert len(ref) == MAX_CANDIDATES  # the case under test: the cap is reached
    assert sorted(p.person_id for p in crowded.candidates(q)) == sorted(ref)
