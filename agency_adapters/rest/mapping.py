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
from typing import Any

from agency_adapters.http_source import pick
from mash.config import ConfigError, Fields, read_toml
from mash.vocab import AGENCY_CATEGORIES, Agency, Category

#: The query fields a search may send (`QueryIdentifiers` attributes).
QUERY_FIELDS = frozenset({"given_name", "family_name", "date_of_birth", "postcode", "nhs_number",
                          "upn", "sex"})
PERSON_FIELDS = ("person_id", "given_name", "family_name", "other_names", "date_of_birth", "sex",
                 "postcode", "address", "nhs_number", "upn")
_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|[0-9]+)(\.([A-Za-z_][A-Za-z0-9_]*|[0-9]+))*$")
_URL_PATH = re.compile(r"^[A-Za-z0-9_\-./{}]+$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


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
        """Read and check `path`; a bad field is a `ConfigError` naming it."""
        return cls.parse(read_toml(path), str(path), agency)

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str, agency: Agency = Agency.EDUCATION
              ) -> RestMapping:
        """Check a mapping already read from TOML."""
        top = Fields(source, data)
        top.unknown({"pupils", "records"})
        p = top.sub("pupils")
        p.unknown({"path", "items", "next", "searches", "fields", "sex_values"})
        searches = data.get("pupils", {}).get("searches")
        if not isinstance(searches, list) or not searches:
            raise ConfigError(source, "pupils.searches", "must be a non-empty array of tables")
        checked = []
        for i, search in enumerate(searches):
            table = _strings(source, f"pupils.searches[{i}]", search)
            for param, query_field in table.items():
                if query_field not in QUERY_FIELDS:
                    raise ConfigError(source, f"pupils.searches[{i}].{param}",
                                      f"must be one of {', '.join(sorted(QUERY_FIELDS))}")
            if not table:
                raise ConfigError(source, f"pupils.searches[{i}]", "is empty")
            checked.append(table)
        fields = _strings(source, "pupils.fields", data.get("pupils", {}).get("fields", {}))
        for name, path in fields.items():
            if name not in PERSON_FIELDS:
                raise ConfigError(source, f"pupils.fields.{name}",
                                  f"not a person field (one of {', '.join(PERSON_FIELDS)})")
            _dotted(source, f"pupils.fields.{name}", path)
        for required in ("person_id", "family_name", "date_of_birth"):
            if required not in fields:
                raise ConfigError(source, f"pupils.fields.{required}", "is required")
        sex_values = _strings(source, "pupils.sex_values",
                              data.get("pupils", {}).get("sex_values", {}))
        for code, value in sex_values.items():
            if value not in ("female", "male", "unknown"):
                raise ConfigError(source, f"pupils.sex_values.{code}",
                                  "must be female, male or unknown")
        pupils = PupilSource(_url_path(source, "pupils.path", p.get("path", str)),
                             _dotted(source, "pupils.items", p.get("items", str, ""), empty=True),
                             _dotted(source, "pupils.next", p.get("next", str, ""), empty=True),
                             tuple(checked), fields, sex_values)
        raw = data.get("records", [])
        if not isinstance(raw, list) or not raw:
            raise ConfigError(source, "records", "must be a non-empty array of tables")
        held = set(AGENCY_CATEGORIES[agency])
        records = tuple(_record(source, f"records[{i}].", item, held) for i, item in enumerate(raw))
        return cls(pupils, records)


def _record(source: str, prefix: str, item: Any, held: set[Category]) -> RecordSource:
    if not isinstance(item, Mapping):
        raise ConfigError(source, prefix.rstrip("."), "must be a table")
    f = Fields(source, item, prefix)
    f.unknown({"category", "path", "items", "id", "date", "summary", "attributes"})
    name = f.get("category", str)
    try:
        category = Category(name)
    except ValueError:
        raise ConfigError(source, f"{prefix}category", f"unknown category {name!r}") from None
    if category not in held:
        raise ConfigError(source, f"{prefix}category", f"{name!r} is not a category this agency holds")
    path = _url_path(source, f"{prefix}path", f.get("path", str))
    if "{id}" not in path:
        raise ConfigError(source, f"{prefix}path", "must contain {id} (the pupil's id)")
    summary = f.get("summary", str)
    for placeholder in _PLACEHOLDER.findall(summary):
        _dotted(source, f"{prefix}summary", placeholder)
    attributes = _strings(source, f"{prefix}attributes", item.get("attributes", {}))
    for key, value in attributes.items():
        _dotted(source, f"{prefix}attributes.{key}", value)
    return RecordSource(category, path,
                        _dotted(source, f"{prefix}items", f.get("items", str, ""), empty=True),
                        _dotted(source, f"{prefix}id", f.get("id", str, "id")),
                        _dotted(source, f"{prefix}date", f.get("date", str)), summary, attributes)


def _strings(source: str, name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(source, name, "must be a table of strings")
    return {str(k): v for k, v in value.items()}


def _dotted(source: str, name: str, path: str, *, empty: bool = False) -> str:
    if (path or not empty) and not _PATH.match(path):
        raise ConfigError(source, name, f"not a dotted path: {path!r}")
    return path


def _url_path(source: str, name: str, path: str) -> str:
    if not _URL_PATH.match(path) or ".." in path or path.startswith("/"):
        raise ConfigError(source, name, "must be a relative path under base_url")
    return path


def fill(template: str, item: Any) -> str:
    """`template` with each `{dotted.path}` replaced by that field of `item` ('' if absent)."""
    return _PLACEHOLDER.sub(lambda m: pick(item, m[1]), template)
