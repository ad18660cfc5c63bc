"""The FHIR mapping file: which searches give the records of each health data category.

    [patient]
    fuzzy_match = true          # send _fuzzy-match=true (PDS's fuzzy search)
    max_results = 10            # _max-results: more matches than this is TOO_MANY_MATCHES
    min_score = 0.0             # drop search results scored below this

    [[records]]
    category = "emergency_attendances"   # a health category (mash/vocab.py)
    resource = "Encounter"               # Encounter | EpisodeOfCare | Flag | CareTeam
    by = "patient"                       # patient=Patient/<id>, or "nhs_number":
                                         # patient:identifier=https://fhir.nhs.uk/Id/nhs-number|<n>
    params = { class = "EMER" }          # further search parameters, sent as given
    match = { "code.coding.0.code" = "was-not-brought" }   # keep only resources whose dotted
                                         # paths hold these values (for what no search
                                         # parameter can select, e.g. a Flag's code)
    date = "period.start"                # dotted path to the record's date ('0' indexes a list)
    summary = "type.0.text"              # dotted path to its one-line minimised summary
    attributes = { site = "serviceProvider.display" }   # minimised structured fields
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agency_adapters.http_source import pick
from mash.config import ConfigError, Fields, read_toml
from mash.vocab import AGENCY_CATEGORIES, Agency, Category

#: The resource types a mapping may read records from.
RECORD_RESOURCES = frozenset({"Encounter", "EpisodeOfCare", "Flag", "CareTeam", "Condition",
                              "Observation"})
#: Search parameters a mapping may not set: the backend sets them itself.
_RESERVED_PARAMS = frozenset({"patient", "patient:identifier", "_count", "_format"})
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.\-]*$")


@dataclass(frozen=True)
class PatientSearch:
    """How patients are searched for."""

    fuzzy_match: bool = True
    max_results: int = 10
    min_score: float = 0.0


@dataclass(frozen=True)
class RecordSearch:
    """One search that gives the records of one category."""

    category: Category
    resource: str
    by: str
    params: Mapping[str, str]
    date: str
    summary: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    match: Mapping[str, str] = field(default_factory=dict)

    def keeps(self, resource: Mapping[str, Any]) -> bool:
        """True when `resource` holds every value `match` asks for."""
        return all(pick(resource, path) == value for path, value in self.match.items())


@dataclass(frozen=True)
class FhirMapping:
    """A whole mapping file, validated."""

    patient: PatientSearch
    records: tuple[RecordSearch, ...]

    def for_categories(self, categories: frozenset[Category]) -> tuple[RecordSearch, ...]:
        """The searches whose category is among `categories`."""
        return tuple(r for r in self.records if r.category in categories)

    @classmethod
    def load(cls, path: Path, agency: Agency = Agency.HEALTH) -> FhirMapping:
        """Read and check `path`; a bad field is a `ConfigError` naming it."""
        return cls.parse(read_toml(path), str(path), agency)

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str, agency: Agency = Agency.HEALTH
              ) -> FhirMapping:
        """Check a mapping already read from TOML."""
        top = Fields(source, data)
        top.unknown({"patient", "records"})
        p = top.sub("patient")
        p.unknown({"fuzzy_match", "max_results", "min_score"})
        patient = PatientSearch(p.get("fuzzy_match", bool, True), p.get("max_results", int, 10),
                                p.get("min_score", float, 0.0))
        if not 1 <= patient.max_results <= 50:
            raise ConfigError(source, "patient.max_results", "must be between 1 and 50")
        raw = data.get("records", [])
        if not isinstance(raw, list) or not raw:
            raise ConfigError(source, "records", "must be a non-empty array of tables")
        held = set(AGENCY_CATEGORIES[agency])
        records = tuple(_record(source, f"records[{i}].", item, held) for i, item in enumerate(raw))
        return cls(patient, records)


def _record(source: str, prefix: str, item: Any, held: set[Category]) -> RecordSearch:
    if not isinstance(item, Mapping):
        raise ConfigError(source, prefix.rstrip("."), "must be a table")
    f = Fields(source, item, prefix)
    f.unknown({"category", "resource", "by", "params", "date", "summary", "attributes", "match"})
    name = f.get("category", str)
    try:
        category = Category(name)
    except ValueError:
        raise ConfigError(source, f"{prefix}category", f"unknown category {name!r}") from None
    if category not in held:
        raise ConfigError(source, f"{prefix}category", f"{name!r} is not a category this agency holds")
    resource = f.get("resource", str)
    if resource not in RECORD_RESOURCES:
        raise ConfigError(source, f"{prefix}resource",
                          f"must be one of {', '.join(sorted(RECORD_RESOURCES))}")
    by = f.get("by", str, "patient")
    if by not in ("patient", "nhs_number"):
        raise ConfigError(source, f"{prefix}by", 'must be "patient" or "nhs_number"')
    params = _strings(source, f"{prefix}params", item.get("params", {}))
    for key in params:
        if key in _RESERVED_PARAMS or not _PARAM.match(key):
            raise ConfigError(source, f"{prefix}params.{key}", "not a search parameter a mapping may set")
    attributes = _strings(source, f"{prefix}attributes", item.get("attributes", {}))
    match = _strings(source, f"{prefix}match", item.get("match", {}))
    paths = {"date": f.get("date", str), "summary": f.get("summary", str),
             **{f"attributes.{k}": v for k, v in attributes.items()},
             **{f"match.{k}": k for k in match}}
    for key, path in paths.items():
        if not _PATH.match(path):
            raise ConfigError(source, f"{prefix}{key}", f"not a dotted path: {path!r}")
    return RecordSearch(category, resource, by, params, paths["date"], paths["summary"], attributes,
                        match)


def _strings(source: str, name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(source, name, "must be a table of strings")
    return {str(k): v for k, v in value.items()}
