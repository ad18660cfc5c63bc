"""The SQL backend's mapping file: where the person fields, records and blocking keys live.

One TOML file, validated when loaded (structure, names, categories) and again against the
live schema at start-up (`agency_adapters.sql.schema`). Every error names the file and the
field. See docs/operator-guide.md, "SQL backend", for a commented example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, TypedDict

import msgspec

from agency_adapters.sql.templates import Template, TemplateError
from mash.config import ConfigError, Strict, TomlDocument
from mash.vocab import AGENCY_CATEGORIES, Agency, Category

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
#: The person fields a mapping may give, besides `id` (all but the names are optional).
PERSON_FIELDS = ("given_name", "family_name", "other_names", "date_of_birth", "sex",
                 "nhs_number", "upn", "postcode", "address")
SEXES = ("female", "male", "unknown")
BLOCKING_METHODS = ("match_keys", "columns")
#: Person fields the `columns` blocking method can look up through an index.
BLOCKING_COLUMNS = ("nhs_number", "upn", "date_of_birth", "postcode")
MAX_RECORDS = 100


class MappingError(ConfigError):
    """The mapping file is malformed, or does not fit the database it points at."""


#: one column, or several (joined with spaces; other_names: one name per column)
Columns = str | list[str]


class PeopleEntry(Strict, frozen=True):
    """The `[people]` table as written."""

    table: str
    id: str
    given_name: Columns
    family_name: Columns
    other_names: Columns | None = None
    date_of_birth: Columns | None = None
    sex: Columns | None = None
    nhs_number: Columns | None = None
    upn: Columns | None = None
    postcode: Columns | None = None
    address: Columns | None = None
    sex_values: dict[str, Literal["female", "male", "unknown"]] = msgspec.field(
        default_factory=dict)


class AddressesEntry(Strict, frozen=True):
    """The `[addresses]` table as written."""

    table: str
    person_id: str
    postcode: str
    address: str | None = None
    current: str | None = None
    latest: str | None = None


class BlockingEntry(Strict, frozen=True):
    """The `[blocking]` table as written."""

    method: Literal["match_keys", "columns"] = "match_keys"
    schema: str = "mash_kit"
    grant_to: str = ""
    columns: tuple[str, ...] = ()


class RecordsEntry(Strict, frozen=True):
    """One `[[records]]` table as written."""

    name: str
    category: Category
    record_id: str
    occurred_on: str
    summary: str
    table: str | None = None
    person_id: str | None = None
    sql: str | None = None
    attributes: dict[str, str] = msgspec.field(default_factory=dict)
    max_records: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = MAX_RECORDS


class SqlMappingFile(Strict, frozen=True):
    """The whole mapping file as written."""

    people: PeopleEntry
    blocking: BlockingEntry = msgspec.field(default_factory=BlockingEntry)
    records: Annotated[tuple[RecordsEntry, ...], msgspec.Meta(min_length=1)] = ()
    addresses: AddressesEntry | None = None


@dataclass(frozen=True)
class TableName:
    """A table or view, optionally in a schema ("social_care.people")."""

    name: str
    schema: str | None = None

    @classmethod
    def parse(cls, source: Path | str, field_name: str, text: str) -> TableName:
        """Parse "table" or "schema.table" (plain SQL names only), naming the field if bad."""
        parts = text.split(".")
        if len(parts) > 2 or not all(_NAME.match(p) for p in parts):
            raise MappingError(source, field_name,
                               f"{text!r} is not a table name (table or schema.table)")
        return cls(parts[-1], parts[0] if len(parts) == 2 else None)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class PeopleMapping:
    """The table or view with one row per person, and the column of each person field."""

    table: TableName
    id: str
    #: field -> the columns that give it (several are joined with spaces; other_names: one
    #: name per non-empty column)
    columns: Mapping[str, tuple[str, ...]]
    #: the database's sex codes -> female | male | unknown
    sex_values: Mapping[str, str] = field(default_factory=dict)

    def column_names(self) -> list[str]:
        """Every column the mapping reads from the people table (id first)."""
        names = [self.id]
        for cols in self.columns.values():
            names.extend(c for c in cols if c not in names)
        return names


@dataclass(frozen=True)
class AddressMapping:
    """The current address from a table of its own (one row per address held)."""

    table: TableName
    person_id: str
    postcode: str
    address: str | None = None
    #: a column that is NULL on the current address (an end date); None: every row counts
    current: str | None = None
    #: among current rows, the one with the latest value here wins (a start date)
    latest: str | None = None

    def column_names(self) -> list[str]:
        """Every column read from the address table."""
        return [c for c in (self.person_id, self.postcode, self.address, self.current,
                            self.latest) if c]


@dataclass(frozen=True)
class BlockingMapping:
    """How candidates are found: the kit's key table, or the database's own indexed columns."""

    method: str
    #: match_keys: the schema the kit's tables live in (created by `mash adapter build-keys`)
    schema: str = "mash_kit"
    #: match_keys: the read-only role the key tables are granted to when built
    grant_to: str | None = None
    #: columns: the person fields looked up through an index
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordsMapping:
    """One source of records in one data category: a table/view, or a parameterised query."""

    name: str
    category: Category
    record_id: str
    occurred_on: str
    summary: Template
    #: attribute name -> column
    attributes: Mapping[str, str]
    table: TableName | None = None
    person_id: str | None = None
    sql: str | None = None
    max_records: int = MAX_RECORDS

    def output_columns(self) -> list[str]:
        """Every column this source must give."""
        cols = [self.record_id, self.occurred_on, *self.summary.fields, *self.attributes.values()]
        return list(dict.fromkeys(cols))


@dataclass(frozen=True)
class SqlMapping:
    """A whole mapping file."""

    path: Path
    people: PeopleMapping
    blocking: BlockingMapping
    records: tuple[RecordsMapping, ...]
    addresses: AddressMapping | None = None

    @classmethod
    def load(cls, path: Path) -> SqlMapping:
        """Read and validate `path` (structure and names; the live schema is checked later)."""
        doc = TomlDocument.read(path)
        raw = doc.decode(SqlMappingFile, MappingError)
        people = _people(doc, raw.people)
        addresses = _addresses(doc, raw.addresses) if raw.addresses is not None else None
        has_postcode = "postcode" in people.columns or addresses is not None
        blocking = _blocking(doc, raw.blocking, has_postcode)
        records = tuple(_records(doc, f"records[{i}].", r) for i, r in enumerate(raw.records))
        names = [r.name for r in records]
        for name in names:
            if names.count(name) > 1:
                raise doc.error("records", f"two [[records]] are named {name!r}", MappingError)
        return cls(path, people, blocking, records, addresses)

    def check_agency(self, agency: Agency) -> None:
        """Every records category must be one of `agency`'s (a wrong one would never be asked)."""
        held = AGENCY_CATEGORIES[agency]
        for i, r in enumerate(self.records):
            if r.category not in held:
                raise MappingError(self.path, f"records[{i}].category",
                                   f"{r.category} is not a category of {agency}; "
                                   f"use one of {', '.join(held)}")

    def tables(self) -> list[TableName]:
        """Every table or view the mapping reads (the kit's key tables not included)."""
        found = [self.people.table]
        if self.addresses:
            found.append(self.addresses.table)
        found.extend(r.table for r in self.records if r.table)
        return list(dict.fromkeys(found))


def _column(doc: TomlDocument, field_name: str, value: str) -> str:
    if not _NAME.match(value):
        raise doc.error(field_name, f"{value!r} is not a column name", MappingError)
    return value


def _columns(doc: TomlDocument, field_name: str, value: str | list[str]) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise doc.error(field_name, "name at least one column", MappingError)
    return tuple(_column(doc, field_name, v) for v in values)


def _table(doc: TomlDocument, field_name: str, text: str) -> TableName:
    try:
        return TableName.parse(doc.source, field_name, text)
    except MappingError as exc:
        raise doc.error(exc.field, exc.problem, MappingError) from None


def _people(doc: TomlDocument, f: PeopleEntry) -> PeopleMapping:
    table = _table(doc, "people.table", f.table)
    ident = _column(doc, "people.id", f.id)
    columns: dict[str, tuple[str, ...]] = {}
    for name in PERSON_FIELDS:
        given = getattr(f, name)
        if given is not None:
            cols = _columns(doc, f"people.{name}", given)
            if name not in ("given_name", "family_name", "other_names") and len(cols) > 1:
                raise doc.error(f"people.{name}", "name one column", MappingError)
            columns[name] = cols
    return PeopleMapping(table, ident, columns, dict(f.sex_values))


def _addresses(doc: TomlDocument, f: AddressesEntry) -> AddressMapping:
    def optional(key: str) -> str | None:
        value = getattr(f, key)
        return _column(doc, f"addresses.{key}", value) if value is not None else None

    return AddressMapping(
        table=_table(doc, "addresses.table", f.table),
        person_id=_column(doc, "addresses.person_id", f.person_id),
        postcode=_column(doc, "addresses.postcode", f.postcode),
        address=optional("address"), current=optional("current"), latest=optional("latest"))


def _blocking(doc: TomlDocument, f: BlockingEntry, has_postcode: bool) -> BlockingMapping:
    if f.method == "match_keys":
        if not _NAME.match(f.schema):
            raise doc.error("blocking.schema", f"{f.schema!r} is not a schema name", MappingError)
        grant = f.grant_to or None
        if grant is not None and not _NAME.match(grant):
            raise doc.error("blocking.grant_to", f"{grant!r} is not a role name", MappingError)
        return BlockingMapping(f.method, schema=f.schema, grant_to=grant)
    if not f.columns:
        raise doc.error("blocking.columns", "name at least one indexed person field",
                        MappingError)
    for name in f.columns:
        if name not in BLOCKING_COLUMNS:
            raise doc.error("blocking.columns", f"{name!r}: the columns method looks up "
                            f"{', '.join(BLOCKING_COLUMNS)}", MappingError)
        if name == "postcode" and not has_postcode:
            raise doc.error("blocking.columns", "postcode is not mapped", MappingError)
    return BlockingMapping(f.method, fields=f.columns)


class _RecordsFields(TypedDict):
    """The `RecordsMapping` fields a table source and a sql source share."""

    name: str
    category: Category
    summary: Template
    attributes: dict[str, str]
    record_id: str
    occurred_on: str
    max_records: int


def _records(doc: TomlDocument, p: str, f: RecordsEntry) -> RecordsMapping:
    if not _NAME.match(f.name):
        raise doc.error(f"{p}name", f"{f.name!r}: use letters, digits and _", MappingError)
    try:
        summary = Template.parse(f.summary)
    except TemplateError as exc:
        raise doc.error(f"{p}summary", str(exc), MappingError) from None
    attributes = {k: _column(doc, f"{p}attributes.{k}", v) for k, v in f.attributes.items()}
    common = _RecordsFields(
        name=f.name, category=f.category, summary=summary, attributes=attributes,
        record_id=_column(doc, f"{p}record_id", f.record_id),
        occurred_on=_column(doc, f"{p}occurred_on", f.occurred_on),
        max_records=f.max_records)
    if (f.sql is None) == (f.table is None):
        raise doc.error(f"{p}table", "give either table (with person_id) or sql", MappingError)
    if f.sql is not None:
        if f.person_id is not None:
            raise doc.error(f"{p}person_id", "a sql source selects by :person_id itself",
                            MappingError)
        return RecordsMapping(sql=_select(doc, f"{p}sql", f.sql), **common)
    if f.person_id is None:
        raise doc.error(f"{p}person_id", "is required", MappingError)
    return RecordsMapping(
        table=_table(doc, f"{p}table", f.table or ""),
        person_id=_column(doc, f"{p}person_id", f.person_id), **common)


def _select(doc: TomlDocument, field_name: str, text: str) -> str:
    """A records query: one SELECT, with the person's id as the bound parameter :person_id."""
    sql = text.strip().rstrip(";").strip()
    head = sql.split(None, 1)[0].lower() if sql else ""
    if head not in ("select", "with"):
        raise doc.error(field_name, "must be one SELECT statement", MappingError)
    if ";" in sql:
        raise doc.error(field_name, "must be one statement (no ';' inside)", MappingError)
    if not re.search(r":person_id\b", sql):
        raise doc.error(field_name, "must select by the bound parameter :person_id (never a "
                        "value written into the text)", MappingError)
    return sql
