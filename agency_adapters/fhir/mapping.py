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
from typing import Annotated, Literal, get_args

import msgspec

from agency_adapters.http_source import pick
from mash.config import Strict, TomlDocument
from mash.toml_lines import FieldLines
from mash.vocab import AGENCY_CATEGORIES, Agency, Category

#: The resource types a mapping may read records from.
RecordResource = Literal["CareTeam", "Condition", "Encounter", "EpisodeOfCare", "Flag",
                         "Observation"]
RECORD_RESOURCES = frozenset(get_args(RecordResource))
#: Search parameters a mapping may not set: the backend sets them itself.
_RESERVED_PARAMS = frozenset({"patient", "patient:identifier", "_count", "_format"})
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_:.\-]*$")


class PatientEntry(Strict, frozen=True):
    """The `[patient]` table as written."""

    fuzzy_match: bool = True
    max_results: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10
    min_score: float = 0.0


class RecordEntry(Strict, frozen=True):
    """One `[[records]]` table as written."""

    category: Category
    resource: RecordResource
    date: str
    summary: str
    by: Literal["patient", "nhs_number"] = "patient"
    params: dict[str, str] = msgspec.field(default_factory=dict)
    attributes: dict[str, str] = msgspec.field(default_factory=dict)
    match: dict[str, str] = msgspec.field(default_factory=dict)


class FhirMappingFile(Strict, frozen=True):
    """The whole mapping file as written."""

    records: Annotated[tuple[RecordEntry, ...], msgspec.Meta(min_length=1)]
    patient: PatientEntry = msgspec.field(default_factory=PatientEntry)


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

    def keeps(self, resource: Mapping[str, object]) -> bool:
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
        """Read and check `path`; a bad field is a `ConfigError` naming it and its line."""
        doc = TomlDocument.read(path)
        return cls.parse(doc.data, str(path), agency, doc.lines)

    @classmethod
    def parse(cls, data: Mapping[str, object], source: str, agency: Agency = Agency.HEALTH,
              lines: FieldLines | None = None) -> FhirMapping:
        """Check a mapping already read from TOML."""
        doc = TomlDocument(source, dict(data), lines or FieldLines(""))
        raw = doc.decode(FhirMappingFile)
        held = set(AGENCY_CATEGORIES[agency])
        records = tuple(_record(doc, f"records[{i}].", item, held)
                        for i, item in enumerate(raw.records))
        p = raw.patient
        return cls(PatientSearch(p.fuzzy_match, p.max_results, p.min_score), records)


def _record(doc: TomlDocument, prefix: str, item: RecordEntry, held: set[Category]
            ) -> RecordSearch:
    if item.category not in held:
        raise doc.error(f"{prefix}category",
                        f"{str(item.category)!r} is not a category this agency holds")
    for key in item.params:
        if key in _RESERVED_PARAMS or not _PARAM.match(key):
            raise doc.error(f"{prefix}params.{key}", "not a search parameter a mapping may set")
    paths = {"date": item.date, "summary": item.summary,
             **{f"attributes.{k}": v for k, v in item.attributes.items()},
             **{f"match.{k}": k for k in item.match}}
    for key, path in paths.items():
        if not _PATH.match(path):
            raise doc.error(f"{prefix}{key}", f"not a dotted path: {path!r}")
    return RecordSearch(item.category, item.resource, item.by, dict(item.params), item.date,
                        item.summary, dict(item.attributes), dict(item.match))
