"""Every backend mapping file and `[backend_options]` table refuses a bad field by name and line.

The shipped templates are edited one line at a time; each error must name the field, the line
it is on, and what was wrong: an unknown field (with the valid ones), a wrong type, a missing
field.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agency_adapters.config import AdapterConfig
from agency_adapters.extract.factory import open_backend as open_extract
from agency_adapters.extract.schema import ExtractSchema, ExtractSchemaError
from agency_adapters.extract.template import schema_text
from agency_adapters.fhir.factory import open_backend as open_fhir
from agency_adapters.fhir.mapping import FhirMapping
from agency_adapters.rest.factory import open_backend as open_rest
from agency_adapters.rest.mapping import RestMapping
from agency_adapters.sql.factory import database_url
from agency_adapters.sql.mapping import MappingError, SqlMapping
from mash.config import ConfigError
from mash.home import Home
from mash.vocab import Agency

TEMPLATES = Path(__file__).resolve().parents[2] / "agency_adapters" / "templates"
Load = Callable[[Path], Any]


def _sql(path: Path) -> Any:
    return SqlMapping.load(path)


def _fhir(path: Path) -> Any:
    return FhirMapping.load(path, Agency.HEALTH)


def _rest(path: Path) -> Any:
    return RestMapping.load(path, Agency.EDUCATION)


def _extract(path: Path) -> Any:
    return ExtractSchema.load(path, Agency.POLICE)


def _source(load: Load) -> str:
    if load is _extract:
        return schema_text(Agency.POLICE)
    name = {_sql: "sql", _fhir: "fhir", _rest: "rest"}[load]
    return (TEMPLATES / f"{name}-mapping.toml").read_text(encoding="utf-8")


def _error(tmp_path: Path, load: Load, old: str, new: str) -> ConfigError:
    text = _source(load)
    assert old in text, old
    path = tmp_path / "mapping.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load(path)
    return raised.value


def _line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "mapping.toml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


@pytest.mark.parametrize(("load", "old", "new", "field", "valid"), [
    (_sql, "[addresses]\n", "[addresses]\ncurent = \"x\"\n", "addresses.curent",
     "table, person_id, postcode, address, current, latest"),
    (_fhir, "fuzzy_match = true", "fuzzy_matching = true", "patient.fuzzy_matching",
     "fuzzy_match, max_results, min_score"),
    (_rest, 'path = "pupils"', 'paht = "pupils"', "pupils.paht",
     "path, searches, items, next, fields, sex_values"),
    (_extract, 'ready_file = "extract.ready"', 'ready = "extract.ready"', "ready", None),
])
def test_an_unknown_field_is_named_with_its_line_and_the_valid_ones(
        tmp_path: Path, load: Load, old: str, new: str, field: str, valid: str | None) -> None:
    err = _error(tmp_path, load, old, new)
    assert err.field == field
    assert err.line == _line_of(tmp_path, field.rsplit(".", 1)[-1] + " =")
    assert err.problem.startswith("unknown field (valid: ")
    if valid:
        assert err.problem == f"unknown field (valid: {valid})"


@pytest.mark.parametrize(("load", "old", "new", "field", "problem"), [
    (_sql, 'id = "person_id"', "id = 3", "people.id", "expected a string, got a whole number"),
    (_fhir, "max_results = 10", 'max_results = "10"', "patient.max_results",
     "expected a whole number, got a string"),
    (_fhir, 'resource = "EpisodeOfCare"', 'resource = "Episode"', "records[0].resource",
     "must be one of 'CareTeam', 'Condition', 'Encounter', 'EpisodeOfCare', 'Flag', "
     "'Observation', got 'Episode'"),
    (_rest, "M = \"male\"", "M = 1", "pupils.sex_values.M",
     "must be one of 'female', 'male', 'unknown', got 1"),
    (_extract, "max_bad_row_fraction = 0.01", "max_bad_row_fraction = [0.01]",
     "max_bad_row_fraction", "expected a number, got a list"),
])
def test_a_wrong_type_is_named_with_its_line(tmp_path: Path, load: Load, old: str, new: str,
                                             field: str, problem: str) -> None:
    err = _error(tmp_path, load, old, new)
    assert (err.field, err.problem) == (field, problem)
    assert err.line == _line_of(tmp_path, new.split("\n")[0])


@pytest.mark.parametrize(("load", "old", "field", "kind"), [
    (_sql, 'family_name = "surname"\n', "people.family_name", MappingError),
    (_fhir, 'date = "period.start"\n', "records[0].date", ConfigError),
    (_rest, 'path = "pupils"', "pupils.path", ConfigError),
    (_extract, 'person_id = "person_ref"\n', "people.person_id", ExtractSchemaError),
])
def test_a_missing_field_is_named(tmp_path: Path, load: Load, old: str, field: str,
                                  kind: type[ConfigError]) -> None:
    err = _error(tmp_path, load, old, "")
    assert (err.field, err.problem) == (field, "is required")
    assert isinstance(err, kind)


def test_backend_options_are_checked_by_name(tmp_path: Path) -> None:
    config = AdapterConfig(agency=Agency.POLICE, home=Home.at(tmp_path), store=tmp_path / "s")
    cases: list[tuple[Callable[[dict[str, Any]], Any], dict[str, Any], str, str]] = [
        (lambda o: open_fhir(config, o), {"mapping": "m", "base_url": "u", "retries": 9},
         "backend_options.retries", "must be between 0 and 5"),
        (lambda o: open_rest(config, o), {"mapping": "m"}, "backend_options.base_url",
         "is required"),
        (lambda o: open_extract(config, o), {"schema": "s", "incoming": "i", "poll_interval_s": 0},
         "backend_options.poll_interval_s", "must be more than 0"),
        (database_url, {"url": "sqlite://", "password": "x"}, "backend_options.password",
         "unknown field (valid: mapping, url, url_file, password_file, connect_timeout_s, "
         "max_key_age_h)"),
    ]
    for call, options, field, problem in cases:
        with pytest.raises(ConfigError) as raised:
            call(options)
        assert (raised.value.field, raised.value.problem) == (field, problem), options
