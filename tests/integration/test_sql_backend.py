"""The SQL backend against a real PostgreSQL 15 holding the synthetic social care warehouse.

The warehouse holds the same people as the home's SQLite demo store (same seed and size),
so the two backends must find the same people with the same confidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from agency_adapters.backend import (
    BackendMisconfigured,
    BackendTimeout,
    BackendUnavailable,
    BackendWritable,
    QueryIdentifiers,
)
from agency_adapters.config import AdapterConfig
from agency_adapters.matching import match
from agency_adapters.sql.backend import SqlBackend
from agency_adapters.sql.factory import open_backend
from agency_adapters.sql.schema import SchemaMismatch
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.home import Home
from mash.vocab import Agency, Category
from tests.postgres import READER, Warehouse, create_role

pytestmark = pytest.mark.integration

CSC = Agency.CHILDRENS_SOCIAL_CARE


def _config(home: Home, timeout_ms: int = 5000) -> AdapterConfig:
    return AdapterConfig(agency=CSC, home=home, store=home.agency_store(CSC),
                         backend="sql", backend_timeout_ms=timeout_ms, backend_threads=2)


def _mapping(warehouse: Warehouse, tmp_path: Path, old: str, new: str) -> Path:
    text_ = warehouse.mapping.read_text()
    assert old in text_, old
    path = tmp_path / "mapping.toml"
    path.write_text(text_.replace(old, new))
    return path


@pytest.fixture(scope="module")
def sql_backend(home: Home, warehouse: Warehouse) -> Iterator[SqlBackend]:
    backend = open_backend(_config(home), warehouse.backend_options())
    yield backend
    backend.close()


def test_finds_every_person_the_demo_store_finds(home: Home, sql_backend: SqlBackend) -> None:
    store = SqliteAgencyStore(home.agency_store(CSC))
    known = list(store.iter_people())
    # everyone health knows (most of the population) is asked for too: the same answer,
    # found or not, and with the same confidence
    health = SqliteAgencyStore(home.agency_store(Agency.HEALTH))
    asked = known + list(health.iter_people())
    health.close()
    assert known and len(asked) > 300
    sure = 0
    for person in asked:
        query = QueryIdentifiers.of_person(person)
        want, got = match(store, query), match(sql_backend, query)
        assert (got.band, got.person_id) == (want.band, want.person_id), person.person_id
        assert got.score == pytest.approx(want.score)
        sure += got.person_id is not None
    assert sure >= len(known)
    for person in known:
        # every case the demo store holds is in the warehouse, and read back by the mapping
        cases = {r.record_id for r in sql_backend.records_for(person.person_id,
                                                              [Category.CSC_CASE_STATUS])}
        for record in store.records_for(person.person_id, [Category.CSC_CASE_STATUS]):
            assert f"cases/{record.record_id}" in cases
    store.close()


@pytest.fixture()
def planned_child(warehouse: Warehouse) -> Iterator[str]:
    """A synthetic child with a closed case, an open plan and a looked-after episode."""
    admin = warehouse.server.admin_engine(warehouse.database)
    rows = [
        "INSERT INTO social_care.people VALUES ('CSC-T000001', 'Testa', NULL, 'Planwright', "
        "NULL, DATE '2016-04-05', 'F', NULL, NULL)",
        "INSERT INTO social_care.cases VALUES ('CSC/T/1', 'CSC-T000001', DATE '2024-01-10', "
        "DATE '2024-06-01', 'child in need plan', 'Children in Need Team West', "
        "'stepped down to early help')",
        "INSERT INTO social_care.cases VALUES ('CSC/T/2', 'CSC-T000001', DATE '2025-02-01', "
        "NULL, 'child protection plan (neglect)', 'Child Protection Team Central', NULL)",
        "INSERT INTO social_care.cp_plans VALUES ('CSC/T/2/CP', 'CSC-T000001', "
        "DATE '2025-02-20', NULL, 'neglect')",
        "INSERT INTO social_care.lac_episodes VALUES ('CSC/T/2/LAC', 'CSC-T000001', "
        "DATE '2025-03-15', NULL, 'V2', 'U3')",
    ]
    with admin.connect() as conn:
        for row in rows:
            conn.execute(text(row))
    yield "CSC-T000001"
    with admin.connect() as conn:
        for t in ("lac_episodes", "cp_plans", "cases", "people"):
            conn.execute(text(f"DELETE FROM social_care.{t} WHERE person_id = 'CSC-T000001'"))
    admin.dispose()


def test_records_are_minimised_lines_with_the_attributes_the_mapping_names(
        sql_backend: SqlBackend, planned_child: str) -> None:
    records = sql_backend.records_for(planned_child, [Category.CSC_CASE_STATUS])
    assert [(r.record_id, r.occurred_on, r.summary, dict(r.attributes)) for r in records] == [
        ("looked_after/CSC/T/2/LAC", "2025-03-15",
         "Looked after from 2025-03-15 to now: legal status V2, placement U3",
         {"legal_status": "V2", "placement": "U3"}),
        ("cp_plans/CSC/T/2/CP", "2025-02-20",
         "Child protection plan (neglect) from 2025-02-20 to now", {"plan_category": "neglect"}),
        ("cases/CSC/T/2", "2025-02-01",
         "Case open: child protection plan (neglect); closed -; allocated to "
         "Child Protection Team Central",
         {"status": "open", "team": "Child Protection Team Central"}),
        ("cases/CSC/T/1", "2024-01-10",
         "Case closed: child in need plan; closed 2024-06-01; allocated to "
         "Children in Need Team West",
         {"status": "closed", "closed_on": "2024-06-01", "team": "Children in Need Team West",
          "outcome": "stepped down to early help"}),
    ]
    assert sql_backend.records_for(planned_child, [Category.TENANCY]) == []


def test_an_account_that_can_write_is_refused(home: Home, warehouse: Warehouse) -> None:
    admin = warehouse.server.admin_engine(warehouse.database)
    create_role(admin, "careless", "careless-pw")
    with admin.connect() as conn:
        conn.execute(text("GRANT USAGE ON SCHEMA social_care, mash_kit TO careless"))
        conn.execute(text("GRANT SELECT ON ALL TABLES IN SCHEMA social_care, mash_kit TO careless"))
        conn.execute(text("GRANT INSERT ON social_care.cases TO careless"))
    admin.dispose()
    options = dict(warehouse.backend_options())
    options["url"] = warehouse.server.url("careless", "", warehouse.database).set(
        password=None).render_as_string(hide_password=False)
    pw = warehouse.folder / "careless.password"
    pw.write_text("careless-pw\n")
    options["password_file"] = str(pw)
    with pytest.raises(BackendWritable, match=r"careless may write to social_care\.cases"):
        open_backend(_config(home), options)
    # the superuser is refused too, whatever its grants
    superuser = dict(options, url=warehouse.server.url(database=warehouse.database).set(
        password=None).render_as_string(hide_password=False))
    pw.write_text(warehouse.server.admin_password)
    with pytest.raises(BackendWritable, match="mash_admin is a superuser"):
        open_backend(_config(home), superuser)


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('table = "social_care.people"', 'table = "social_care.persons"',
     "people: table or view social_care.persons not found"),
    ('given_name = ["forename", "middle_names"]', 'given_name = ["first_name", "middle_names"]',
     "people.given_name: column 'first_name' not found in social_care.people"),
    ('family_name = "surname"', 'family_name = "Surname"',
     "column 'Surname' not found in social_care.people (did you mean 'surname'?)"),
    ('occurred_on = "start_date"\nsummary = "Child protection',
     'occurred_on = "begun_on"\nsummary = "Child protection',
     "records[1] (cp_plans).columns: column 'begun_on' not found in social_care.cp_plans"),
    ("AS case_status", "AS state",
     "records[0] (cases).sql: the query gives no column 'case_status'"),
    ("FROM social_care.cases", "FROM social_care.case_list",
     "records[0] (cases).sql: the database refused the query"),
])
def test_a_mapping_that_does_not_fit_the_schema_names_what_is_wrong(
        home: Home, warehouse: Warehouse, tmp_path: Path, old: str, new: str,
        problem: str) -> None:
    options = dict(warehouse.backend_options(), mapping=str(_mapping(warehouse, tmp_path, old, new)))
    with pytest.raises(SchemaMismatch) as err:
        open_backend(_config(home), options)
    assert problem in str(err.value)


def test_the_columns_method_reads_through_indexes_and_refuses_a_table_without_them(
        home: Home, warehouse: Warehouse, tmp_path: Path) -> None:
    columns = '[blocking]\nmethod = "columns"\ncolumns = ["nhs_number", "date_of_birth", "postcode"]\n'
    text_ = warehouse.mapping.read_text()
    start, end = text_.index("\n[blocking]"), text_.index("\n[[records]]")
    path = tmp_path / "columns.toml"
    path.write_text(text_[:start] + "\n" + columns + text_[end:])
    backend = open_backend(_config(home), dict(warehouse.backend_options(), mapping=str(path)))
    store = SqliteAgencyStore(home.agency_store(CSC))
    person = next(p for p in store.iter_people() if p.date_of_birth)
    store.close()
    found = backend.candidates(QueryIdentifiers(given_name="x", family_name="y",
                                                date_of_birth=person.date_of_birth))
    assert person.person_id in {p.person_id for p in found}
    assert backend.candidates(QueryIdentifiers(given_name="Amelia", family_name="Shaw")) == []
    backend.close()
    # a view has no index: every lookup would scan, so the mapping is refused
    admin = warehouse.server.admin_engine(warehouse.database)
    with admin.connect() as conn:
        conn.execute(text("CREATE OR REPLACE VIEW social_care.people_v AS "
                          "SELECT * FROM social_care.people"))
        conn.execute(text(f"GRANT SELECT ON social_care.people_v TO {READER}"))
    admin.dispose()
    view = tmp_path / "view.toml"
    view.write_text(path.read_text().replace('table = "social_care.people"',
                                             'table = "social_care.people_v"'))
    with pytest.raises(SchemaMismatch, match=r"date_of_birth \(social_care.people_v.date_of_birth\)"
                                             r" has no index"):
        open_backend(_config(home), dict(warehouse.backend_options(), mapping=str(view)))


def test_a_slow_query_is_cancelled_by_the_database_at_the_timeout(
        home: Home, warehouse: Warehouse, tmp_path: Path) -> None:
    slow = _mapping(warehouse, tmp_path, "WHERE person_id = :person_id",
                    "WHERE person_id = :person_id OR CAST(pg_sleep(3) AS text) = ''")
    backend = open_backend(_config(home, timeout_ms=300),
                           dict(warehouse.backend_options(), mapping=str(slow)))
    with pytest.raises(BackendTimeout, match="statement timeout"):
        backend.records_for("CSC-0100001", [Category.CSC_CASE_STATUS])
    backend.close()


def test_a_database_error_never_carries_a_bound_value(
        home: Home, warehouse: Warehouse, tmp_path: Path) -> None:
    cast = _mapping(warehouse, tmp_path, "WHERE person_id = :person_id",
                    "WHERE referral_date = CAST(:person_id AS date)")
    backend = open_backend(_config(home), dict(warehouse.backend_options(), mapping=str(cast)))
    with pytest.raises(BackendMisconfigured) as err:
        backend.records_for("Jane Smith 2011-01-01", [Category.CSC_CASE_STATUS])
    assert "invalid input syntax for type date" in str(err.value)
    assert "Smith" not in str(err.value)
    backend.close()


def test_an_unreachable_database_is_named_at_start_up(home: Home, warehouse: Warehouse,
                                                      tmp_path: Path) -> None:
    options = dict(warehouse.backend_options())
    options["url"] = str(options["url"]).replace(f":{warehouse.server.port}/", ":1/")
    with pytest.raises(BackendUnavailable, match="cannot reach the database"):
        open_backend(_config(home), options)


def test_a_stale_key_table_is_a_fault_in_health(sql_backend: SqlBackend) -> None:
    assert sql_backend.probe().fault == ""
    later = datetime.now(UTC) + timedelta(days=3)
    stale = SqlBackend(sql_backend.engine, sql_backend.mapping,
                       frequencies=sql_backend.name_frequencies(), clock=lambda: later)
    state = stale.probe()
    assert state.serving and "match keys built" in state.fault and "build-keys" in state.fault

