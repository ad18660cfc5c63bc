"""SqliteAgencyStore: build, read back, blocking, read-only serving."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agency_adapters.backend import (
    AgencyBackend,
    Person,
    QueryIdentifiers,
    Record,
    StoreNotFound,
    StoreUnreadable,
)
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter
from mash.vocab import Category

ALICE = Person("P1", "Alice Mary", "Smith", ("Jones",), "2015-03-04", "female", "S11 8YA",
               "1 Oak Road", "943 476 5919", "")
BOB = Person("P2", "Robert", "Brown", (), "1980-01-02", "male", "S2 4AB", "2 Elm Street", "", "")


def build(path: Path, people: list[Person], records: list[Record] | None = None) -> Path:
    with StoreWriter(path, "police") as w:
        w.add_people(people)
        w.add_records(records or [])
    return path


def test_round_trip_and_protocol(tmp_path: Path) -> None:
    rec = Record("OCC/1", "P1", Category.DOMESTIC_ABUSE_INCIDENTS, "2026-01-02",
                 "Domestic abuse incident, DASH risk: high, child present", {"dash_risk": "high"})
    old = Record("OCC/0", "P1", Category.MISSING_EPISODES, "2025-01-02", "Missing episode", {})
    store = SqliteAgencyStore(build(tmp_path / "s.sqlite", [ALICE, BOB], [old, rec]))
    assert isinstance(store, AgencyBackend)
    assert store.agency == "police"
    assert store.person("P1") == ALICE
    got = store.records_for("P1", [Category.DOMESTIC_ABUSE_INCIDENTS, Category.MISSING_EPISODES])
    assert [r.record_id for r in got] == ["OCC/1", "OCC/0"]  # newest first
    assert got[0].attributes["dash_risk"] == "high"
    # Only the asked-for categories come back.
    assert store.records_for("P1", [Category.MISSING_EPISODES]) == [old]
    assert store.records_for("P1", []) == []
    store.close()


def test_candidates_use_blocking_keys(tmp_path: Path) -> None:
    store = SqliteAgencyStore(build(tmp_path / "s.sqlite", [ALICE, BOB]))
    by_nhs = store.candidates(QueryIdentifiers(nhs_number="9434765919"))
    assert [p.person_id for p in by_nhs] == ["P1"]
    # Day and month swapped by the referrer still reaches Alice through the swapped-DOB key.
    swapped = store.candidates(QueryIdentifiers(given_name="Alice", family_name="Smyth",
                                                date_of_birth="2015-04-03"))
    assert "P1" in [p.person_id for p in swapped]
    # Nothing shared: no candidates (and no scan).
    assert store.candidates(QueryIdentifiers(given_name="Zed", family_name="Quux")) == []


def test_store_is_read_only(tmp_path: Path) -> None:
    store = SqliteAgencyStore(build(tmp_path / "s.sqlite", [ALICE]))
    conn = store._conn()
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM people")


def test_missing_and_foreign_files_fail_closed(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound):
        SqliteAgencyStore(tmp_path / "absent.sqlite")
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.close()
    with pytest.raises(StoreUnreadable):
        SqliteAgencyStore(other)


def test_record_attributes_are_immutable() -> None:
    attrs = {"a": "1"}
    rec = Record("R", "P", Category.TENANCY, "2026-01-01", "Tenancy", attrs)
    attrs["a"] = "2"
    assert rec.attributes["a"] == "1"
    with pytest.raises(TypeError):
        rec.attributes["a"] = "3"  # type: ignore[index]


def test_query_identifiers_from_proto() -> None:
    from mash.v1 import mash_pb2

    msg = mash_pb2.Identifiers(given_name="Jade", family_name="Greenwood", other_names=["Brady"],
                               date_of_birth="2017-11-12", postcode="S8 3AP")
    q = QueryIdentifiers.from_proto(msg)
    assert q.given_name == "Jade" and q.other_names == ("Brady",)
    assert q.date_of_birth == "2017-11-12" and q.nhs_number == ""
    assert QueryIdentifiers.from_proto(mash_pb2.Identifiers()).date_of_birth is None


def test_failed_build_keeps_the_old_store(tmp_path: Path) -> None:
    path = build(tmp_path / "s.sqlite", [ALICE])
    with pytest.raises(RuntimeError), StoreWriter(path, "police") as w:
        w.add_people([BOB])
        raise RuntimeError("interrupted")
    store = SqliteAgencyStore(path)
    assert store.person("P1") == ALICE and store.person("P2") is None
    assert not list(tmp_path.glob(".*building*"))
