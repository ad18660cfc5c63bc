"""The REST mapping file: where pupils and their records are, and how their fields read.

    [pupils]
    path = "pupils"                  # GET <base_url>/pupils?<search params>
    items = "data"                   # where a page's list is ('' : the page is the list)
    next = "links.next"              # dotted path to the next page's URL ('' : one page)
    searches = [                     # tried in order; one runs when all its fields are known
      { upn = "upn" },               # query parameter = query field
      { former_upn = "upn" },
      { surname = "family_name", dob = "date_of_birth" },
    ]

    [pupils.fields]                  # Person field = dotted path in a pupil
    person_id = "id"
    given_name = "legal_forename"
    family_name = "legal_surname"
    other_names = "preferred_surname"
    date_of_birth = "dob"
    sex = "gender"
    postcode = "address.postcode"
    address = "address.line1"
    upn = "upn"

    [pupils.sex_values]              # the middleware's codes -> female | male | unknown
    F = "female"
    M = "male"

    [[records]]
    category = "attendance"                  # an education category (mash/vocab.py)
    path = "pupils/{id}/attendance"          # {id}: the pupil's person_id
    items = "data"
    id = "id"
    date = "term_start"
    summary = "Attendance {attendance_pct}% this term"   # {path} takes a field's value
    attributes = { attendance_pct = "attendance_pct" }
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

#: The query fields a search may send (`QueryIdentifiers` attributes).
QueryField = Literal["given_name", "family_name", "date_of_birth", "postcode", "nhs_number",
                     "upn", "sex"]
QUERY_FIELDS = frozenset(get_args(QueryField))
PERSON_FIELDS = ("person_id", "given_name", "family_name", "other_names", "date_of_birth", "sex",
                 "postcode", "address", "nhs_number", "upn")
_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|[0-9]+)(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")
_URL_PATH = re.compile(r"^[A-Za-z0-9_\-./{}]+$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class PupilsEntry(Strict, frozen=True):
    """The `[pupils]` table as written."""

    path: str
    searches: Annotated[tuple[Annotated[dict[str, QueryField], msgspec.Meta(min_length=1)], ...],
                        msgspec.Meta(min_length=1)]
    items: str = ""
    next: str = ""
    fields: dict[str, str] = msgspec.field(default_factory=dict)
    sex_values: dict[str, Literal["female", "male", "unknown"]] = msgspec.field(
        default_factory=dict)


class RecordEntry(Strict, frozen=True):
    """One `[[records]]` table as written."""

    category: Category
    path: str
    date: str
    summary: str
    items: str = ""
    id: str = "id"
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class RestMappingFile(Strict, frozen=True):
    """The whole mapping file as written."""

    pupils: PupilsEntry
    records: Annotated[tuple[RecordEntry, ...], msgspec.Meta(min_length=1)]


@dataclass(frozen=True)
class PupilSource:
    """Where pupils are searched and how a pupil's fields read."""

    path: str
    items: str
    next: str
    searches: tuple[Mapping[str, str], ...]
    fields: Mapping[str, str]
    sex_values: Mapping[str, str]


@dataclass(frozen=True)
class RecordSource:
    """One per-pupil endpoint giving the records of one category."""

    category: Category
    path: str
    items: str
    id: str
    date: str
    summary: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RestMapping:
    """A whole REST mapping file, validated."""

    pupils: PupilSource
    records: tuple[RecordSource, ...]

    @classmethod
    def load(cls, path: Path, agency: Agency = Agency.EDUCATION) -> RestMapping:
        """Read and check `path`; a bad field is a `ConfigError` naming it and its line."""
        doc = TomlDocument.read(path)
        return cls.parse(doc.data, str(path), agency, doc.lines)

    @classmethod
    def parse(cls, data: Mapping[str, object], source: str, agency: Agency = Agency.EDUCATION,
              lines: FieldLines | None = None) -> RestMapping:
        """Check a mapping already read from TOML."""
        doc = TomlDocument(source, dict(data), lines or FieldLines(""))
        raw = doc.decode(RestMappingFile)
        p = raw.pupils
        for name, path in p.fields.items():
            if name not in PERSON_FIELDS:
                raise doc.error(f"pupils.fields.{name}",
                                f"not a person field (one of {', '.join(PERSON_FIELDS)})")
            _dotted(doc, f"pupils.fields.{name}", path)
        for required in ("person_id", "family_name", "date_of_birth"):
            if required not in p.fields:
                raise doc.error(f"pupils.fields.{required}", "is required")
        pupils = PupilSource(_url_path(doc, "pupils.path", p.path),
                             _dotted(doc, "pupils.items", p.items, empty=True),
                             _dotted(doc, "pupils.next", p.next, empty=True),
                             tuple(dict(search) for search in p.searches), dict(p.fields),
                             dict(p.sex_values))
        held = set(AGENCY_CATEGORIES[agency])
        records = tuple(_record(doc, f"records[{i}].", item, held)
                        for i, item in enumerate(raw.records))
        return cls(pupils, records)


def _record(doc: TomlDocument, prefix: str, item: RecordEntry, held: set[Category]
            ) -> RecordSource:
    if item.category not in held:
        raise doc.error(f"{prefix}category",
                        f"{str(item.category)!r} is not a category this agency holds")
    path = _url_path(doc, f"{prefix}path", item.path)
    if "{id}" not in path:
        raise doc.error(f"{prefix}path", "must contain {id} (the pupil's id)")
    for placeholder in _PLACEHOLDER.findall(item.summary):
        _dotted(doc, f"{prefix}summary", placeholder)
    for key, value in item.attributes.items():
        _dotted(doc, f"{prefix}attributes.{key}", value)
    return RecordSource(item.category, path, _dotted(doc, f"{prefix}items", item.items, empty=True),
                        _dotted(doc, f"{prefix}id", item.id), _dotted(doc, f"{prefix}date", item.date),
                        item.summary, dict(item.attributes))


def _dotted(doc: TomlDocument, name: str, path: str, *, empty: bool = False) -> str:
    if (path or not empty) and not _PATH.match(path):
        raise doc.error(name, f"not a dotted path: {path!r}")
    return path


def _url_path(doc: TomlDocument, name: str, path: str) -> str:
    if not _URL_PATH.match(path) or ".." in path or path.startswith("/"):
        raise doc.error(name, "must be a relative path under base_url")
    return path


def fill(template: str, item: object) -> str:
    """`template` with each `{dotted.path}` replaced by that field of `item` ('' if absent)."""
    return _PLACEHOLDER.sub(lambda m: pick(item, m[1]), template)
