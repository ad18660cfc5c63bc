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
from typing import Any

from agency_adapters.sql.templates import Template, TemplateError
from mash.config import ConfigError, Fields, read_toml
from mash.vocab import AGENCY_CATEGORIES, Agency, Category, UnknownVocabulary, parse

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


@dataclass(frozen=True)
class TableName:
    """A table or view, optionally in a schema ("social_care.people")."""

    name: str
    schema: str | None = None

    @classmethod
    def parse(cls, source: Path, field_name: str, text: str) -> TableName:
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
        f = Fields(path, read_toml(path))
        f.unknown({"people", "addresses", "blocking", "records"})
        people = _people(path, f.sub("people"))
        addresses = _addresses(path, f.sub("addresses")) if "addresses" in f.table else None
        has_postcode = "postcode" in people.columns or addresses is not None
        blocking = _blocking(path, f.sub("blocking"), has_postcode)
        raw = f.table.get("records", [])
        if not isinstance(raw, list) or not raw:
            raise MappingError(path, "records", "give at least one [[records]] table")
        records = tuple(_records(path, Fields(path, r, f"records[{i}]."))
                        for i, r in enumerate(raw) if _is_table(path, i, r))
        names = [r.name for r in records]
        for name in names:
            if names.count(name) > 1:
                raise MappingError(path, "records", f"two [[records]] are named {name!r}")
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


def _is_table(path: Path, i: int, value: Any) -> bool:
    if not isinstance(value, Mapping):
        raise MappingError(path, f"records[{i}]", "must be a table ([[records]])")
    return True


def _column(path: Path, field_name: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise MappingError(path, field_name, f"{value!r} is not a column name")
    return value


def _columns(path: Path, field_name: str, value: Any) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise MappingError(path, field_name, "name at least one column")
    return tuple(_column(path, field_name, v) for v in values)


def _people(path: Path, f: Fields) -> PeopleMapping:
    f.unknown({"table", "id", "sex_values", *PERSON_FIELDS})
    table = TableName.parse(path, "people.table", f.get("table", str))
    ident = _column(path, "people.id", f.get("id", str))
    columns: dict[str, tuple[str, ...]] = {}
    for name in PERSON_FIELDS:
        if name in f.table:
            cols = _columns(path, f"people.{name}", f.table[name])
            if name not in ("given_name", "family_name", "other_names") and len(cols) > 1:
                raise MappingError(path, f"people.{name}", "name one column")
            columns[name] = cols
    for required in ("given_name", "family_name"):
        if required not in columns:
            raise MappingError(path, f"people.{required}", "is required")
    sex_values = {str(k): str(v) for k, v in f.sub("sex_values").table.items()}
    for code, sex in sex_values.items():
        if sex not in SEXES:
            raise MappingError(path, f"people.sex_values.{code}",
                               f"must be one of {', '.join(SEXES)}, got {sex!r}")
    return PeopleMapping(table, ident, columns, sex_values)


def _addresses(path: Path, f: Fields) -> AddressMapping:
    f.unknown({"table", "person_id", "postcode", "address", "current", "latest"})

    def optional(key: str) -> str | None:
        return _column(path, f"addresses.{key}", f.table[key]) if key in f.table else None

    return AddressMapping(
        table=TableName.parse(path, "addresses.table", f.get("table", str)),
        person_id=_column(path, "addresses.person_id", f.get("person_id", str)),
        postcode=_column(path, "addresses.postcode", f.get("postcode", str)),
        address=optional("address"), current=optional("current"), latest=optional("latest"))


def _blocking(path: Path, f: Fields, has_postcode: bool) -> BlockingMapping:
    f.unknown({"method", "schema", "grant_to", "columns"})
    method = f.get("method", str, "match_keys")
    if method not in BLOCKING_METHODS:
        raise MappingError(path, "blocking.method",
                           f"must be one of {', '.join(BLOCKING_METHODS)}, got {method!r}")
    if method == "match_keys":
        schema = f.get("schema", str, "mash_kit")
        if not _NAME.match(schema):
            raise MappingError(path, "blocking.schema", f"{schema!r} is not a schema name")
        grant = f.get("grant_to", str, "") or None
        if grant is not None and not _NAME.match(grant):
            raise MappingError(path, "blocking.grant_to", f"{grant!r} is not a role name")
        return BlockingMapping(method, schema=schema, grant_to=grant)
    fields = f.get("columns", list)
    if not fields:
        raise MappingError(path, "blocking.columns", "name at least one indexed person field")
    for name in fields:
        if name not in BLOCKING_COLUMNS:
            raise MappingError(path, "blocking.columns",
                               f"{name!r}: the columns method looks up "
                               f"{', '.join(BLOCKING_COLUMNS)}")
        if name == "postcode" and not has_postcode:
            raise MappingError(path, "blocking.columns", "postcode is not mapped")
    return BlockingMapping(method, fields=tuple(fields))


def _records(path: Path, f: Fields) -> RecordsMapping:
    f.unknown({"name", "category", "table", "person_id", "sql", "record_id", "occurred_on",
               "summary", "attributes", "max_records"})
    p = f.prefix
    name = f.get("name", str)
    if not _NAME.match(name):
        raise MappingError(path, f"{p}name", f"{name!r}: use letters, digits and _")
    try:
        category = parse(Category, f.get("category", str))
    except UnknownVocabulary as exc:
        raise MappingError(path, f"{p}category", str(exc)) from None
    try:
        summary = Template.parse(f.get("summary", str))
    except TemplateError as exc:
        raise MappingError(path, f"{p}summary", str(exc)) from None
    attributes = {str(k): _column(path, f"{p}attributes.{k}", v)
                  for k, v in f.sub("attributes").table.items()}
    max_records = f.get("max_records", int, MAX_RECORDS)
    if not 1 <= max_records <= 10_000:
        raise MappingError(path, f"{p}max_records", "must be between 1 and 10000")
    common: dict[str, Any] = dict(
        name=name, category=category, summary=summary, attributes=attributes,
        record_id=_column(path, f"{p}record_id", f.get("record_id", str)),
        occurred_on=_column(path, f"{p}occurred_on", f.get("occurred_on", str)),
        max_records=max_records)
    if ("sql" in f.table) == ("table" in f.table):
        raise MappingError(path, f"{p}table", "give either table (with person_id) or sql")
    if "sql" in f.table:
        if "person_id" in f.table:
            raise MappingError(path, f"{p}person_id",
                               "a sql source selects by :person_id itself")
        return RecordsMapping(sql=_select(path, f"{p}sql", f.get("sql", str)), **common)
    return RecordsMapping(
        table=TableName.parse(path, f"{p}table", f.get("table", str)),
        person_id=_column(path, f"{p}person_id", f.get("person_id", str)), **common)


def _select(path: Path, field_name: str, text: str) -> str:
    """A records query: one SELECT, with the person's id as the bound parameter :person_id."""
    sql = text.strip().rstrip(";").strip()
    head = sql.split(None, 1)[0].lower() if sql else ""
    if head not in ("select", "with"):
        raise MappingError(path, field_name, "must be one SELECT statement")
    if ";" in sql:
        raise MappingError(path, field_name, "must be one statement (no ';' inside)")
    if not re.search(r":person_id\b", sql):
        raise MappingError(path, field_name,
                           "must select by the bound parameter :person_id (never a value "
                           "written into the text)")
    return sql
