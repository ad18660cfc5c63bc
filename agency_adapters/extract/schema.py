"""The declared schema of an agency's extract: its files, their headers, types and meaning.

One TOML file (`mash adapter init --backend extract` writes a commented one)::

    ready_file = "extract.ready"     # written last by the export job: its time, or empty
    max_bad_row_fraction = 0.01      # more bad rows than this in a file refuses the extract
    min_people_fraction = 0.5        # fewer people than this share of the extract in use too

    [people]
    file = "people.csv"
    header = ["person_ref", "forename", "surname", "dob", "gender", "postcode", "nhs_no"]
    required = ["person_ref", "surname"]
    dates = { dob = "%d/%m/%Y" }
    person_id = "person_ref"
    given_name = "forename"
    ...

    [[records]]
    file = "incidents.csv"
    category = "domestic_abuse_incidents"   # or category_column + [records.category_values]
    ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agency_adapters.sql.mapping import SEXES
from agency_adapters.sql.templates import Template, TemplateError
from mash.config import ConfigError, Fields, read_toml
from mash.vocab import AGENCY_CATEGORIES, Agency, Category, UnknownVocabulary, parse

_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
PERSON_FIELDS = ("given_name", "family_name", "other_names", "date_of_birth", "sex",
                 "postcode", "address", "nhs_number", "upn")


class ExtractSchemaError(ConfigError):
    """The declared schema is malformed."""


@dataclass(frozen=True)
class FileSchema:
    """One CSV file: its exact header, required columns and date formats."""

    file: str
    header: tuple[str, ...]
    required: frozenset[str]
    #: column -> strptime format (the column must hold a date in it, or be empty)
    dates: Mapping[str, str]


@dataclass(frozen=True)
class PeopleFile(FileSchema):
    """The people file: one row per person, and the column of each person field."""

    person_id: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    sex_values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordsFile(FileSchema):
    """A records file: one row per record, in a fixed category or one given by a column."""

    person_id: str = ""
    record_id: str = ""
    occurred_on: str = ""
    summary: Template = Template("", ())
    attributes: Mapping[str, str] = field(default_factory=dict)
    category: Category | None = None
    category_column: str | None = None
    category_values: Mapping[str, Category] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtractSchema:
    """The whole declared schema."""

    path: Path
    people: PeopleFile
    records: tuple[RecordsFile, ...]
    ready_file: str = "extract.ready"
    max_bad_row_fraction: float = 0.01
    min_people_fraction: float = 0.5

    @classmethod
    def load(cls, path: Path, agency: Agency) -> ExtractSchema:
        """Read and validate `path` for `agency` (every error names the field)."""
        f = Fields(path, read_toml(path))
        f.unknown({"ready_file", "max_bad_row_fraction", "min_people_fraction", "people",
                   "records"})
        ready = f.get("ready_file", str, "extract.ready")
        _file_name(path, "ready_file", ready)
        bad = f.get("max_bad_row_fraction", float, 0.01)
        if not 0 <= bad < 1:
            raise ExtractSchemaError(path, "max_bad_row_fraction", "must be from 0 to under 1")
        min_people = f.get("min_people_fraction", float, 0.5)
        if not 0 <= min_people <= 1:
            raise ExtractSchemaError(path, "min_people_fraction", "must be from 0 to 1")
        people = _people(path, f.sub("people"))
        raw = f.table.get("records", [])
        if not isinstance(raw, list):
            raise ExtractSchemaError(path, "records", "must be [[records]] tables")
        records = tuple(_records(path, Fields(path, r, f"records[{i}]."), agency)
                        for i, r in enumerate(raw))
        files = [people.file, *(r.file for r in records)]
        for name in files:
            if files.count(name) > 1 or name == ready:
                raise ExtractSchemaError(path, "records", f"file {name!r} is declared twice")
        return cls(path, people, records, ready, bad, min_people)


def _file_name(path: Path, field_name: str, name: str) -> str:
    if not _FILE.match(name):
        raise ExtractSchemaError(path, field_name, f"{name!r}: a plain file name, no folders")
    return name


def _base(path: Path, f: Fields) -> dict[str, Any]:
    p = f.prefix
    header = f.get("header", list)
    if not header or not all(isinstance(h, str) and h for h in header):
        raise ExtractSchemaError(path, f"{p}header", "list every column name, in file order")
    if len(set(header)) != len(header):
        raise ExtractSchemaError(path, f"{p}header", "a column is named twice")
    required = f.get("required", list, [])
    dates = {str(k): str(v) for k, v in f.sub("dates").table.items()}
    for col in [*required, *dates]:
        if col not in header:
            raise ExtractSchemaError(path, f"{p}required" if col in required else f"{p}dates",
                                     f"{col!r} is not in the header")
    for col, fmt in dates.items():
        try:
            datetime.strptime(datetime(2001, 2, 3).strftime(fmt), fmt)
        except ValueError:
            raise ExtractSchemaError(path, f"{p}dates.{col}", f"{fmt!r} is not a date format "
                                     "(strftime codes, e.g. %d/%m/%Y)") from None
    return {"file": _file_name(path, f"{p}file", f.get("file", str)), "header": tuple(header),
            "required": frozenset(required), "dates": dates}


def _column(path: Path, f: Fields, key: str, header: tuple[str, ...],
            default: str | None = None) -> str:
    col = f.get(key, str, default)
    if col not in header:
        raise ExtractSchemaError(path, f"{f.prefix}{key}", f"{col!r} is not in the header")
    return col


def _people(path: Path, f: Fields) -> PeopleFile:
    f.unknown({"file", "header", "required", "dates", "person_id", "sex_values", *PERSON_FIELDS})
    base = _base(path, f)
    header = base["header"]
    fields = {name: _column(path, f, name, header) for name in PERSON_FIELDS if name in f.table}
    for needed in ("given_name", "family_name"):
        if needed not in fields:
            raise ExtractSchemaError(path, f"people.{needed}", "is required")
    sex_values = {str(k): str(v) for k, v in f.sub("sex_values").table.items()}
    for code, sex in sex_values.items():
        if sex not in SEXES:
            raise ExtractSchemaError(path, f"people.sex_values.{code}",
                                     f"must be one of {', '.join(SEXES)}")
    return PeopleFile(**base, person_id=_column(path, f, "person_id", header), fields=fields,
                      sex_values=sex_values)


def _records(path: Path, f: Fields, agency: Agency) -> RecordsFile:
    f.unknown({"file", "header", "required", "dates", "person_id", "record_id", "occurred_on",
               "summary", "attributes", "category", "category_column", "category_values"})
    p = f.prefix
    base = _base(path, f)
    header = base["header"]
    held = AGENCY_CATEGORIES[agency]

    def category(field_name: str, value: Any) -> Category:
        try:
            c = parse(Category, value)
        except UnknownVocabulary as exc:
            raise ExtractSchemaError(path, field_name, str(exc)) from None
        if c not in held:
            raise ExtractSchemaError(path, field_name, f"{c} is not a category of {agency}")
        return c

    try:
        summary = Template.parse(f.get("summary", str))
    except TemplateError as exc:
        raise ExtractSchemaError(path, f"{p}summary", str(exc)) from None
    for col in summary.fields:
        if col not in header:
            raise ExtractSchemaError(path, f"{p}summary", f"{{{col}}} is not in the header")
    attributes = {str(k): str(v) for k, v in f.sub("attributes").table.items()}
    for name, col in attributes.items():
        if col not in header:
            raise ExtractSchemaError(path, f"{p}attributes.{name}", f"{col!r} is not in the header")
    fixed = category(f"{p}category", f.table["category"]) if "category" in f.table else None
    column = _column(path, f, "category_column", header) if "category_column" in f.table else None
    if (fixed is None) == (column is None):
        raise ExtractSchemaError(path, f"{p}category", "give category, or category_column "
                                 "with [category_values]")
    values = {str(k): category(f"{p}category_values.{k}", v)
              for k, v in f.sub("category_values").table.items()}
    if column is not None and not values:
        raise ExtractSchemaError(path, f"{p}category_values", "map each code to a category")
    return RecordsFile(**base, person_id=_column(path, f, "person_id", header),
                       record_id=_column(path, f, "record_id", header),
                       occurred_on=_column(path, f, "occurred_on", header), summary=summary,
                       attributes=attributes, category=fixed, category_column=column,
                       category_values=values)
