"""The small interface between an adapter and its agency's system of record.

An adapter never reads an agency database directly: it asks an `AgencyBackend`
for the candidate people that a query's identifiers could refer to (found
through indexes -- blocking -- never a full scan) and, once matching has chosen
one person, for that person's records in the permitted categories. The demo
backend is `agency_adapters.sqlite_store.SqliteAgencyStore`; a FHIR or
PostgreSQL backend is a new class with the same three methods.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from mash.vocab import Category


class BackendError(Exception):
    """Base class of every error raised by an agency backend."""


class StoreNotFound(BackendError):
    """The agency store does not exist (not seeded, or the path is wrong)."""


class StoreUnreadable(BackendError):
    """The agency store exists but cannot be read as an agency store (corrupt, wrong schema)."""


@dataclass(frozen=True)
class Person:
    """One person as the agency's system holds them (spelling, gaps and stale data included)."""

    person_id: str
    given_name: str
    family_name: str
    other_names: tuple[str, ...] = ()
    date_of_birth: str | None = None  # 'YYYY-MM-DD'
    sex: str = "unknown"  # female | male | unknown
    postcode: str = ""
    address: str = ""  # first line of address
    nhs_number: str = ""
    upn: str = ""


def _frozen_mapping(value: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class Record:
    """One agency record about one person, in exactly one data category.

    `summary` is one minimised line for the referral summary (no third-party
    names); `attributes` are minimised structured fields (e.g. `dash_risk`).
    """

    record_id: str
    person_id: str
    category: Category
    occurred_on: str  # 'YYYY-MM-DD'
    summary: str
    attributes: Mapping[str, str] = field(default_factory=_frozen_mapping)

    def __post_init__(self) -> None:
        # A frozen record must not share a mutable dict with its caller.
        object.__setattr__(self, "attributes", _frozen_mapping(self.attributes))


@dataclass(frozen=True)
class QueryIdentifiers:
    """The identifiers of one subject as the referrer knows them (any may be empty).

    The same fields as `Person` minus the id. Values are kept exactly as sent;
    normalisation and validation belong to matching, which reports invalid
    identifiers rather than trusting them.
    """

    given_name: str = ""
    family_name: str = ""
    other_names: tuple[str, ...] = ()
    date_of_birth: str | None = None
    sex: str = ""
    postcode: str = ""
    address: str = ""
    nhs_number: str = ""
    upn: str = ""
    #: When the referrer has no date of birth: the range ('YYYY-MM-DD', 'YYYY-MM-DD') the
    #: subject's role in the referral makes plausible (a child is under 18). A candidate
    #: whose recorded date of birth falls outside it is never a sure match -- the
    #: same-named father when the referral is about his son.
    born_between: tuple[str, str] | None = None

    @classmethod
    def from_proto(cls, msg: Any) -> QueryIdentifiers:
        """Build from a `mash.v1.Identifiers` message (proto3: empty string means absent)."""
        return cls(
            given_name=msg.given_name,
            family_name=msg.family_name,
            other_names=tuple(msg.other_names),
            date_of_birth=msg.date_of_birth or None,
            sex=msg.sex,
            postcode=msg.postcode,
            address=msg.address,
            nhs_number=msg.nhs_number,
            upn=msg.upn,
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> QueryIdentifiers:
        """Build from a JSON-like mapping (e.g. a subject in `demo_subjects.json`)."""
        dob = data.get("date_of_birth") or None
        return cls(
            given_name=str(data.get("given_name") or ""),
            family_name=str(data.get("family_name") or ""),
            other_names=tuple(str(n) for n in data.get("other_names") or ()),
            date_of_birth=str(dob) if dob else None,
            sex=str(data.get("sex") or ""),
            postcode=str(data.get("postcode") or ""),
            address=str(data.get("address") or ""),
            nhs_number=str(data.get("nhs_number") or ""),
            upn=str(data.get("upn") or ""),
        )

    @classmethod
    def of_person(cls, person: Person) -> QueryIdentifiers:
        """The identifiers of `person` exactly as held (useful in tests and evaluation)."""
        return cls(
            given_name=person.given_name,
            family_name=person.family_name,
            other_names=person.other_names,
            date_of_birth=person.date_of_birth,
            sex=person.sex,
            postcode=person.postcode,
            address=person.address,
            nhs_number=person.nhs_number,
            upn=person.upn,
        )


@runtime_checkable
class AgencyBackend(Protocol):
    """What an adapter needs from an agency's system of record."""

    def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """People who could be `query`, found through indexes (blocking), never a full scan.

        The list is bounded (a backend caps it) and unordered; matching scores it.
        """
        ...

    def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """The records of `person_id` in `categories` only, newest first."""
        ...

    def close(self) -> None:
        """Release the backend's resources."""
        ...
