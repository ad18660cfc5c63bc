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
from typing import Annotated, Literal, TypedDict

import msgspec

from agency_adapters.sql.templates import Template, TemplateError
from mash.config import ConfigError, Strict, TomlDocument
from mash.vocab import AGENCY_CATEGORIES, Agency, Category

_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
PERSON_FIELDS = ("given_name", "family_name", "other_names", "date_of_birth", "sex",
                 "postcode", "address", "nhs_number", "upn")


class ExtractSchemaError(ConfigError):
    """The declared schema is malformed."""


#: a column name of a header
ColumnName = Annotated[str, msgspec.Meta(min_length=1)]


class FileEntry(Strict, frozen=True):
    """What every file's table declares: its name, its exact header, required and date columns."""

    file: str
    #: every column name, in file order
    header: Annotated[tuple[ColumnName, ...], msgspec.Meta(min_length=1)]
    required: tuple[str, ...] = ()
    dates: dict[str, str] = msgspec.field(default_factory=dict)


class PeopleEntry(FileEntry, frozen=True, kw_only=True):
    """The `[people]` table as written."""

    person_id: str
    given_name: str
    family_name: str
    other_names: str | None = None
    date_of_birth: str | None = None
    sex: str | None = None
    postcode: str | None = None
    address: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    sex_values: dict[str, Literal["female", "male", "unknown"]] = msgspec.field(
        default_factory=dict)


class RecordsEntry(FileEntry, frozen=True, kw_only=True):
    """One `[[records]]` table as written."""

    person_id: str
    record_id: str
    occurred_on: str
    summary: str
    attributes: dict[str, str] = msgspec.field(default_factory=dict)
    category: Category | None = None
    category_column: str | None = None
    category_values: dict[str, Category] = msgspec.field(default_factory=dict)


class ExtractSchemaFile(Strict, frozen=True):
    """The whole declared schema as written."""

    people: PeopleEntry
    records: tuple[RecordsEntry, ...] = ()
    ready_file: str = "extract.ready"
    max_bad_row_fraction: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.01
    min_people_fraction: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.5


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
        """Read and validate `path` for `agency` (every error names the field and its line)."""
        doc = TomlDocument.read(path)
        raw = doc.decode(ExtractSchemaFile, ExtractSchemaError)
        _file_name(doc, "ready_file", raw.ready_file)
        people = _people(doc, raw.people)
        records = tuple(_records(doc, f"records[{i}].", r, agency)
                        for i, r in enumerate(raw.records))
        files = [people.file, *(r.file for r in records)]
        for name in files:
            if files.count(name) > 1 or name == raw.ready_file:
                raise _error(doc, "records", f"file {name!r} is declared twice")
        return cls(path, people, records, raw.ready_file, raw.max_bad_row_fraction,
                   raw.min_people_fraction)


def _error(doc: TomlDocument, field_name: str, problem: str) -> ExtractSchemaError:
    return doc.error(field_name, problem, ExtractSchemaError)


def _file_name(doc: TomlDocument, field_name: str, name: str) -> str:
    if not _FILE.match(name):
        raise _error(doc, field_name, f"{name!r}: a plain file name, no folders")
    return name


class _FileFields(TypedDict):
    """The `FileSchema` fields every file has, checked once for people and records files."""

    file: str
    header: tuple[str, ...]
    required: frozenset[str]
    dates: dict[str, str]


def _base(doc: TomlDocument, p: str, f: FileEntry) -> _FileFields:
    header = f.header
    if len(set(header)) != len(header):
        raise _error(doc, f"{p}header", "a column is named twice")
    for col in [*f.required, *f.dates]:
        if col not in header:
            raise _error(doc, f"{p}required" if col in f.required else f"{p}dates",
                         f"{col!r} is not in the header")
    for col, fmt in f.dates.items():
        try:
            datetime.strptime(datetime(2001, 2, 3).strftime(fmt), fmt)
        except ValueError:
            raise _error(doc, f"{p}dates.{col}", f"{fmt!r} is not a date format "
                         "(strftime codes, e.g. %d/%m/%Y)") from None
    return {"file": _file_name(doc, f"{p}file", f.file), "header": tuple(header),
            "required": frozenset(f.required), "dates": dict(f.dates)}


def _column(doc: TomlDocument, field_name: str, col: str, header: tuple[str, ...]) -> str:
    if col not in header:
        raise _error(doc, field_name, f"{col!r} is not in the header")
    return col


def _people(doc: TomlDocument, f: PeopleEntry) -> PeopleFile:
    base = _base(doc, "people.", f)
    header = base["header"]
    fields = {name: _column(doc, f"people.{name}", getattr(f, name), header)
              for name in PERSON_FIELDS if getattr(f, name) is not None}
    return PeopleFile(**base, person_id=_column(doc, "people.person_id", f.person_id, header),
                      fields=fields, sex_values=dict(f.sex_values))


def _records(doc: TomlDocument, p: str, f: RecordsEntry, agency: Agency) -> RecordsFile:
    base = _base(doc, p, f)
    header = base["header"]
    held = AGENCY_CATEGORIES[agency]

    def category(field_name: str, c: Category) -> Category:
        if c not in held:
            raise _error(doc, field_name, f"{c} is not a category of {agency}")
        return c

    try:
        summary = Template.parse(f.summary)
    except TemplateError as exc:
        raise _error(doc, f"{p}summary", str(exc)) from None
    for col in summary.fields:
        if col not in header:
            raise _error(doc, f"{p}summary", f"{{{col}}} is not in the header")
    for name, col in f.attributes.items():
        if col not in header:
            raise _error(doc, f"{p}attributes.{name}", f"{col!r} is not in the header")
    fixed = category(f"{p}category", f.category) if f.category is not None else None
    column = (_column(doc, f"{p}category_column", f.category_column, header)
              if f.category_column is not None else None)
    if (fixed is None) == (column is None):
        raise _error(doc, f"{p}category", "give category, or category_column "
                     "with [category_values]")
    values = {k: category(f"{p}category_values.{k}", v) for k, v in f.category_values.items()}
    if column is not None and not values:
        raise _error(doc, f"{p}category_values", "map each code to a category")
    return RecordsFile(**base, person_id=_column(doc, f"{p}person_id", f.person_id, header),
                       record_id=_column(doc, f"{p}record_id", f.record_id, header),
                       occurred_on=_column(doc, f"{p}occurred_on", f.occurred_on, header),
                       summary=summary, attributes=dict(f.attributes), category=fixed,
                       category_column=column, category_values=values)
