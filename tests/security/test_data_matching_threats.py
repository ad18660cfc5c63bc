"""One test per threat to identity matching and the agency store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import match
from agency_adapters.sqlite_store import MAX_CANDIDATES, SqliteAgencyStore, StoreWriter
from mash.vocab import Category, MatchBand

TWIN_A = Person("T1", "Olivia", "Khan", (), "2018-02-10", "female", "S2 4AB", "3 Elm Close",
                "9000000009", "")
TWIN_B = Person("T2", "Amelia", "Khan", (), "2018-02-10", "female", "S2 4AB", "3 Elm Close",
                "9000000017", "")


@pytest.fixture()
def store(tmp_path: Path) -> SqliteAgencyStore:
    path = tmp_path / "s.sqlite"
    with StoreWriter(path, "police") as w:
        # Many people sharing a DOB and surname: a degenerate block.
        w.add_people([TWIN_A, TWIN_B] + [
            Person(f"S{i}", f"Given{i}", "Smith", (), "2010-01-01", "male", "S1 1AA",
                   f"{i} Mill Lane", "", "") for i in range(MAX_CANDIDATES + 200)])
    return SqliteAgencyStore(path)


def test_twin_query_never_returns_the_other_twin(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(given_name="Amelia", family_name="Khan",
                                      date_of_birth="2018-02-10", postcode="S2 4AB"))
    assert r.person_id == "T2"


def test_nhs_number_of_one_twin_with_the_others_name_is_not_sure(
        store: SqliteAgencyStore) -> None:
    # A referrer copies the wrong twin's NHS number: identifiers conflict, so do not disclose.
    r = match(store, QueryIdentifiers(given_name="Amelia", family_name="Khan",
                                      date_of_birth="2018-02-10", nhs_number="9000000009"))
    assert r.band in (MatchBand.POSSIBLE, MatchBand.NONE) and r.person_id is None
    # Not even with the shared address, where names, date and address outweigh a number.
    r = match(store, QueryIdentifiers(given_name="Amelia", family_name="Khan",
                                      date_of_birth="2018-02-10", postcode="S2 4AB",
                                      nhs_number="9000000009"))
    assert r.band in (MatchBand.POSSIBLE, MatchBand.NONE) and r.person_id is None


def test_possible_match_names_nobody(store: SqliteAgencyStore) -> None:
    r = match(store, QueryIdentifiers(family_name="Khan", date_of_birth="2018-02-10"))
    assert r.band is MatchBand.POSSIBLE
    assert r.person_id is None  # a caller cannot fetch records for an unsure match
    assert "T1" not in r.confirm_hint and "Olivia" not in r.confirm_hint


def test_degenerate_block_is_bounded_not_scanned(store: SqliteAgencyStore) -> None:
    q = QueryIdentifiers(family_name="Smith", date_of_birth="2010-01-01", postcode="S1 1AA")
    assert len(store.candidates(q)) <= MAX_CANDIDATES
    r = match(store, q)
    assert r.band is not MatchBand.HIGH and r.person_id is None


def test_injection_in_identifiers_is_inert(store: SqliteAgencyStore) -> None:
    evil = "x'; DROP TABLE people; --"
    r = match(store, QueryIdentifiers(given_name=evil, family_name=evil, postcode=evil,
                                      date_of_birth=evil, nhs_number=evil, upn=evil))
    assert r.band is MatchBand.NONE
    assert set(r.invalid_identifiers) == {"nhs_number", "upn", "date_of_birth", "postcode"}
    assert store.count_people() == MAX_CANDIDATES + 202


def test_serving_connection_cannot_write(store: SqliteAgencyStore) -> None:
    with pytest.raises(sqlite3.OperationalError):
        store._conn().execute("UPDATE people SET given_name = 'x'")


def test_records_only_for_requested_categories(store: SqliteAgencyStore) -> None:
    # Minimisation starts at the store: nothing outside the permitted categories is read.
    assert store.records_for("T1", [Category.COVERT_SOURCES]) == []
