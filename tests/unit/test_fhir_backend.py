"""The FHIR backend against a FHIR server on loopback: search, records, and every fault."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agency_adapters.backend import (
    BackendError,
    BackendMisconfigured,
    BackendTimeout,
    BackendUnavailable,
    QueryIdentifiers,
)
from agency_adapters.config import AdapterConfig
from agency_adapters.fhir.backend import FhirBackend
from agency_adapters.fhir.client import FhirClient
from agency_adapters.fhir.factory import open_backend
from agency_adapters.fhir.mapping import FhirMapping
from agency_adapters.seed import seed_agencies
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.config import ConfigError
from mash.home import Home
from mash.vocab import AGENCY_CATEGORIES, Agency, Category
from tests.fhir_server import FhirServer, fhir_server
from tests.tls_files import TlsFiles, make_tls_files

TEMPLATE = Path(__file__).resolve().parents[2] / "agency_adapters/templates/fhir-mapping.toml"
HEALTH_CATEGORIES = frozenset(AGENCY_CATEGORIES[Agency.HEALTH])


@pytest.fixture(scope="module")
def health_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fhir-data")
    seed_agencies(folder, seed=5, people=400, agencies=[Agency.HEALTH])
    return folder / "health.sqlite"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("fhir-tls"), "fhir")


@pytest.fixture()
def server(health_store: Path, tls: TlsFiles) -> Iterator[FhirServer]:
    with fhir_server(health_store, tls) as s:
        yield s


def _backend(server: FhirServer, tls: TlsFiles, **kw: float) -> FhirBackend:
    client = FhirClient(server.base_url, ca_file=str(tls.ca), timeout_s=kw.get("timeout_s", 5.0),
                        retries=int(kw.get("retries", 1)))
    return FhirBackend(client, FhirMapping.load(TEMPLATE))


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def _someone_with_records(store_path: Path) -> tuple[QueryIdentifiers, str, set[Category]]:
    store = SqliteAgencyStore(store_path)
    try:
        for person in store.iter_people():
            records = store.records_for(person.person_id, HEALTH_CATEGORIES)
            if person.nhs_number and person.date_of_birth and len({r.category for r in records}) > 1:
                return (QueryIdentifiers.of_person(person), person.person_id,
                        {r.category for r in records})
    finally:
        store.close()
    raise AssertionError("the seeded store has nobody with records in two categories")


def test_a_person_is_found_by_nhs_number_and_by_demographics(
        server: FhirServer, tls: TlsFiles, health_store: Path) -> None:
    query, pid, _ = _someone_with_records(health_store)
    backend = _backend(server, tls)
    by_nhs = _run(backend.candidates(QueryIdentifiers(nhs_number=query.nhs_number)))
    assert [p.person_id for p in by_nhs] == [pid]
    assert by_nhs[0].nhs_number == "".join(query.nhs_number.split())
    # A misspelt surname still finds them with fuzzy matching (same sound, same birth date).
    misspelt = QueryIdentifiers(given_name=query.given_name, family_name=query.family_name + "e",
                                date_of_birth=query.date_of_birth)
    assert pid in [p.person_id for p in _run(backend.candidates(misspelt))]
    assert any(path == "/R4/Patient" for path in server.requests)


def test_records_come_from_the_mapped_searches_by_category(
        server: FhirServer, tls: TlsFiles, health_store: Path) -> None:
    _, pid, held = _someone_with_records(health_store)
    backend = _backend(server, tls)
    records = _run(backend.records_for(pid, HEALTH_CATEGORIES))
    assert {r.category for r in records} == held
    assert all(r.person_id == pid and r.summary and len(r.occurred_on) == 10 for r in records)
    assert [r.occurred_on for r in records] == sorted((r.occurred_on for r in records), reverse=True)
    one = sorted(held)[0]
    assert {r.category for r in _run(backend.records_for(pid, {one}))} == {one}


def test_too_many_matches_gives_no_candidates(server: FhirServer, tls: TlsFiles,
                                              health_store: Path) -> None:
    query, _, _ = _someone_with_records(health_store)
    backend = _backend(server, tls)
    backend.mapping = FhirMapping.parse({"patient": {"max_results": 1}, "records": [
        {"category": "camhs", "resource": "EpisodeOfCare", "date": "period.start",
         "summary": "type.0.text"}]}, "test")
    # Everyone born that day whose given name sounds alike: more than one result is refused.
    server.data.patients["twin"] = {**server.data.patients[next(iter(server.data.patients))],
                                    "id": "twin", "birthDate": query.date_of_birth,
                                    "name": [{"family": query.family_name,
                                              "given": [query.given_name]}]}
    found = _run(backend.candidates(QueryIdentifiers(given_name=query.given_name,
                                                     family_name=query.family_name,
                                                     date_of_birth=query.date_of_birth)))
    assert found == []


@pytest.mark.parametrize(("fault", "error", "words"), [
    ("500", BackendUnavailable, "HTTP 500"),
    ("html", BackendError, "text/html"),
    ("slow", BackendTimeout, "in time"),
])
def test_a_misbehaving_server_is_a_clear_backend_error(
        server: FhirServer, tls: TlsFiles, fault: str, error: type[BackendError],
        words: str) -> None:
    server.fault = fault
    backend = _backend(server, tls, timeout_s=0.5, retries=0)
    with pytest.raises(error) as raised:
        _run(backend.candidates(QueryIdentifiers(nhs_number="9434765919")))
    assert words in str(raised.value)
    assert "Service unavailable" not in str(raised.value), "the server's text is never echoed"


def test_a_server_whose_certificate_we_do_not_trust_is_refused(
        server: FhirServer, tmp_path: Path) -> None:
    other = make_tls_files(tmp_path, "someone-else")
    client = FhirClient(server.base_url, ca_file=str(other.ca), retries=0)
    with pytest.raises(BackendUnavailable):
        _run(FhirBackend(client, FhirMapping.load(TEMPLATE)).probe())


def test_an_invalid_resource_is_refused_not_used(server: FhirServer, tls: TlsFiles,
                                                  health_store: Path) -> None:
    query, pid, _ = _someone_with_records(health_store)
    server.data.patients[pid] = {**server.data.patients[pid], "birthDate": "not a date"}
    with pytest.raises(BackendError, match="not valid FHIR"):
        _run(_backend(server, tls).candidates(QueryIdentifiers(nhs_number=query.nhs_number)))


def test_the_mapping_is_checked_field_by_field(tmp_path: Path) -> None:
    good = FhirMapping.load(TEMPLATE)
    assert {r.category for r in good.records} == HEALTH_CATEGORIES
    cases = [
        ({"records": [{"category": "tenancy", "resource": "Flag", "date": "d", "summary": "s"}]},
         "records[0].category"),
        ({"records": [{"category": "camhs", "resource": "Basic", "date": "d", "summary": "s"}]},
         "records[0].resource"),
        ({"records": [{"category": "camhs", "resource": "Flag", "date": "a..b", "summary": "s"}]},
         "records[0].date"),
        ({"records": [{"category": "camhs", "resource": "Flag", "date": "d", "summary": "s",
                       "params": {"patient": "Patient/1"}}]}, "records[0].params.patient"),
        ({"records": []}, "records"),
        ({"patient": {"max_results": 500}, "records": [
            {"category": "camhs", "resource": "Flag", "date": "d", "summary": "s"}]},
         "patient.max_results"),
    ]
    for data, field in cases:
        with pytest.raises(ConfigError) as raised:
            FhirMapping.parse(data, "mapping.toml")
        assert raised.value.field == field, data


def test_open_backend_checks_its_options(tmp_path: Path, tls: TlsFiles) -> None:
    home = Home.at(tmp_path)
    config = AdapterConfig(agency=Agency.HEALTH, home=home, store=tmp_path / "unused.sqlite",
                           trusted_brokers=("mash-demo",))
    token = tmp_path / "token"
    token.write_text("secret\n")
    token.chmod(0o644)
    options = {"mapping": str(TEMPLATE), "base_url": "https://127.0.0.1:1/R4",
               "ca_file": str(tls.ca), "token_file": str(token)}
    with pytest.raises(ConfigError, match="readable by others"):
        open_backend(config, options)
    token.chmod(0o600)
    assert isinstance(open_backend(config, options), FhirBackend)
    with pytest.raises(ConfigError, match=r"unknown field \(valid: mapping, base_url"):
        open_backend(config, {**options, "verify": False})
    with pytest.raises(ConfigError, match="no such file"):
        open_backend(config, {**options, "ca_file": str(tmp_path / "missing.pem")})
    with pytest.raises(BackendMisconfigured):
        open_backend(config, {**options, "base_url": "ftp://example"})
    json.dumps(options)  # the options are plain TOML values
