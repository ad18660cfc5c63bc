"""The REST backend against school middleware on loopback: searches, paging, records, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from agency_adapters.backend import (
    BackendError,
    BackendMisconfigured,
    BackendTimeout,
    BackendUnavailable,
    Person,
    QueryIdentifiers,
)
from agency_adapters.config import AdapterConfig
from agency_adapters.http_source import JsonHttp
from agency_adapters.rest.backend import RestBackend
from agency_adapters.rest.factory import open_backend
from agency_adapters.rest.mapping import RestMapping
from agency_adapters.seed import seed_agencies
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.config import ConfigError
from mash.home import Home
from mash.vocab import AGENCY_CATEGORIES, Agency, Category
from tests.school_api import API_KEY, SchoolApi, school_api
from tests.tls_files import TlsFiles, make_tls_files

TEMPLATE = Path(__file__).resolve().parents[2] / "agency_adapters/templates/rest-mapping.toml"
EDUCATION = frozenset(AGENCY_CATEGORIES[Agency.EDUCATION])
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("school-data")
    seed_agencies(folder, seed=9, people=500, agencies=[Agency.EDUCATION])
    return folder / "education.sqlite"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("school-tls"), "school-mis")


@pytest.fixture()
def api(store: Path, tls: TlsFiles) -> Iterator[SchoolApi]:
    with school_api(store, tls) as server:
        yield server


def _backend(api: SchoolApi, tls: TlsFiles, key: str = API_KEY, **kw: float) -> RestBackend:
    http = JsonHttp(api.base_url, system="the school middleware", ca_file=str(tls.ca),
                    headers={"X-API-Key": key}, timeout_s=kw.get("timeout_s", 5.0),
                    retries=int(kw.get("retries", 1)))
    return RestBackend(http, RestMapping.load(TEMPLATE))


def _pupil(store: Path, *, former: bool = False) -> tuple[Person, set[Category]]:
    from tests.school_api import pupil_json

    s = SqliteAgencyStore(store)
    try:
        for person in s.iter_people():
            held = {r.category for r in s.records_for(person.person_id, EDUCATION)}
            if person.upn and len(held) > 1 and bool(pupil_json(person)["former_upns"]) == former:
                return person, held
    finally:
        s.close()
    raise AssertionError("no pupil with records in two categories")


def test_a_pupil_is_found_by_upn_former_upn_and_name_with_date_of_birth(
        api: SchoolApi, tls: TlsFiles, store: Path) -> None:
    backend = _backend(api, tls)
    person, _ = _pupil(store, former=True)
    former = api.pupils[person.person_id]["former_upns"][0]
    for query in (QueryIdentifiers(upn=person.upn),
                  QueryIdentifiers(upn=former),
                  QueryIdentifiers(family_name=person.family_name,
                                   date_of_birth=person.date_of_birth)):
        found = _run(backend.candidates(query))
        assert person.person_id in [p.person_id for p in found], query
    got = next(p for p in _run(backend.candidates(QueryIdentifiers(upn=person.upn)))
               if p.person_id == person.person_id)
    assert (got.given_name, got.family_name, got.date_of_birth, got.upn) == (
        person.given_name, person.family_name, person.date_of_birth, person.upn)
    assert got.sex == person.sex or person.sex == "unknown"


def test_every_page_of_a_search_is_read(api: SchoolApi, tls: TlsFiles, store: Path) -> None:
    person, _ = _pupil(store)
    # Four pupils share a surname and birth date: two pages of two.
    for i in range(3):
        api.pupils[f"twin-{i}"] = {**api.pupils[person.person_id], "id": f"twin-{i}",
                                   "upn": f"T{i}"}
    found = _run(_backend(api, tls).candidates(QueryIdentifiers(
        family_name=person.family_name, date_of_birth=person.date_of_birth)))
    ids = {p.person_id for p in found}
    assert {person.person_id, "twin-0", "twin-1", "twin-2"} <= ids
    assert api.requests.count("/api/v1/pupils") >= 2


def test_records_come_from_each_categorys_endpoint(api: SchoolApi, tls: TlsFiles,
                                                   store: Path) -> None:
    person, held = _pupil(store)
    backend = _backend(api, tls)
    records = _run(backend.records_for(person.person_id, EDUCATION))
    assert {r.category for r in records} == held
    assert all(r.summary and len(r.occurred_on) == 10 for r in records)
    assert [r.occurred_on for r in records] == sorted((r.occurred_on for r in records),
                                                      reverse=True)
    enrolment = [r for r in records if r.category == Category.SCHOOL_ENROLMENT]
    assert enrolment and enrolment[0].summary.startswith("On roll at ")
    only = sorted(held)[0]
    assert {r.category for r in _run(backend.records_for(person.person_id, {only}))} == {only}


@pytest.mark.parametrize(("fault", "error", "words"), [
    ("500", BackendUnavailable, "HTTP 500"),
    ("html", BackendError, "text/html"),
    ("slow", BackendTimeout, "in time"),
])
def test_a_misbehaving_middleware_is_a_clear_backend_error(
        api: SchoolApi, tls: TlsFiles, fault: str, error: type[BackendError], words: str) -> None:
    api.fault = fault
    with pytest.raises(error) as raised:
        _run(_backend(api, tls, timeout_s=0.5, retries=0).candidates(QueryIdentifiers(upn="A1")))
    assert words in str(raised.value)
    assert "maintenance" not in str(raised.value)


def test_a_wrong_api_key_is_a_configuration_fault(api: SchoolApi, tls: TlsFiles) -> None:
    with pytest.raises(BackendMisconfigured, match="credentials"):
        _run(_backend(api, tls, key="wrong").probe())
    assert _run(_backend(api, tls).probe()).serving


def test_a_mapping_naming_a_missing_endpoint_or_list_is_reported(
        api: SchoolApi, tls: TlsFiles, store: Path) -> None:
    backend = _backend(api, tls)
    person, _ = _pupil(store)
    broken = RestMapping.parse({**_template(), "records": [
        {"category": "attendance", "path": "pupils/{id}/registers", "date": "d", "summary": "s"}]},
        "m.toml")
    backend.mapping = broken
    with pytest.raises(BackendMisconfigured, match="no endpoint"):
        _run(backend.records_for(person.person_id, {Category.ATTENDANCE}))
    backend.mapping = RestMapping.parse({**_template(), "records": [
        {"category": "attendance", "path": "pupils/{id}/attendance", "items": "rows",
         "date": "d", "summary": "s"}]}, "m.toml")
    with pytest.raises(BackendMisconfigured, match="no list at 'rows'"):
        _run(backend.records_for(person.person_id, {Category.ATTENDANCE}))


def _template() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(TEMPLATE.read_text())


def test_the_mapping_is_checked_field_by_field() -> None:
    good = _template()
    assert {r.category for r in RestMapping.parse(good, "t").records} == EDUCATION
    rec = {"category": "attendance", "path": "pupils/{id}/a", "date": "d", "summary": "s"}
    cases = [
        ({**good, "records": [{**rec, "category": "camhs"}]}, "records[0].category"),
        ({**good, "records": [{**rec, "path": "pupils/a"}]}, "records[0].path"),
        ({**good, "records": [{**rec, "path": "../admin/{id}"}]}, "records[0].path"),
        ({**good, "records": [{**rec, "summary": "{bad..path}"}]}, "records[0].summary"),
        ({**good, "pupils": {**good["pupils"], "searches": [{"upn": "shoe_size"}]}},
         "pupils.searches[0].upn"),
        ({**good, "pupils": {**good["pupils"], "fields": {"person_id": "id"}}},
         "pupils.fields.family_name"),
        ({**good, "pupils": {**good["pupils"], "sex_values": {"F": "girl"}}},
         "pupils.sex_values.F"),
    ]
    for data, field in cases:
        with pytest.raises(ConfigError) as raised:
            RestMapping.parse(data, "mapping.toml")
        assert raised.value.field == field, data


def test_open_backend_reads_the_key_from_a_private_file(tmp_path: Path, tls: TlsFiles) -> None:
    config = AdapterConfig(agency=Agency.EDUCATION, home=Home.at(tmp_path),
                           store=tmp_path / "unused.sqlite", trusted_brokers=("mash-demo",))
    secret = tmp_path / "api-key"
    secret.write_text(API_KEY)
    secret.chmod(0o640)
    options = {"mapping": str(TEMPLATE), "base_url": "https://127.0.0.1:1/api/v1",
               "ca_file": str(tls.ca), "auth_header": "X-API-Key", "secret_file": str(secret)}
    with pytest.raises(ConfigError, match="readable by others"):
        open_backend(config, options)
    secret.chmod(0o600)
    backend = open_backend(config, options)
    assert isinstance(backend, RestBackend)
    with pytest.raises(ConfigError) as raised:
        open_backend(config, {**options, "auth_header": "X-Key\r\nInjected: 1"})
    assert raised.value.field == "backend_options.auth_header"
    with pytest.raises(ConfigError, match="no such file"):
        open_backend(config, {**options, "ca_file": str(tmp_path / "none.pem")})
