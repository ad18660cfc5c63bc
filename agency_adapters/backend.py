"""The small interface between an adapter and its agency's system of record.

An adapter never reads an agency database directly: it asks a backend for the
candidate people that a query's identifiers could refer to (found through
indexes -- blocking -- never a full scan) and, once matching has chosen one
person, for that person's records in the permitted categories.

Two shapes of backend, one contract:

- `AsyncAgencyBackend` is what the adapter's event loop calls. Every call is a
  coroutine, so one slow system of record never stalls other queries or the
  health check. `view()` gives one consistent view of the data for one query
  (an extract swapped in mid-query does not mix two extracts).
- `AgencyBackend` is the plain synchronous form (the SQLite demo store, a SQL
  database through a blocking driver). The adapter runs it in a bounded thread
  pool (`agency_adapters.backend_threads.ThreadedBackend`).

Errors are `BackendError` subclasses by cause; the adapter turns them into a
per-agency status with a short reason and never shows their text to the broker.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from mash.vocab import Category

if TYPE_CHECKING:
    from agency_adapters.config import AdapterConfig
    from agency_adapters.matching.frequencies import NameFrequencies
    from mash.v1 import mash_pb2


class BackendError(Exception):
    """Base class of every error raised by an agency backend.

    The message names what is wrong (a table, a column, a file and line) and never
    a person's data: it goes to the operator's log and health report.
    """

    #: machine-readable reason code used in the answer and the log
    code = "backend_error"


class BackendTimeout(BackendError):
    """The system of record did not answer within the call's time limit."""

    code = "backend_timeout"


class BackendUnavailable(BackendError):
    """The system of record cannot be reached or refused the connection."""

    code = "backend_unavailable"


class BackendMisconfigured(BackendError):
    """The backend's configuration or mapping does not fit the system it points at."""

    code = "backend_misconfigured"


class BackendWritable(BackendMisconfigured):
    """The backend's database account can write: an adapter reads with a read-only account."""

    code = "backend_writable"


class StoreNotFound(BackendError):
    """The agency store does not exist (not seeded, or the path is wrong)."""

    code = "backend_unavailable"


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
    #: another record of the same person: set by the agency's own system (a merged or linked
    #: record), and by a store for records that share a valid NHS number. Records linked
    #: this way are one candidate: the margin to the runner-up is between different people.
    linked_to: str = ""


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
    def from_proto(cls, msg: mash_pb2.Identifiers) -> QueryIdentifiers:
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
    def from_mapping(cls, data: Mapping[str, object]) -> QueryIdentifiers:
        """Build from a JSON-like mapping (e.g. a subject in `demo_subjects.json`)."""
        dob = data.get("date_of_birth") or None
        others = data.get("other_names") or ()
        return cls(
            given_name=str(data.get("given_name") or ""),
            family_name=str(data.get("family_name") or ""),
            other_names=tuple(str(n) for n in others) if isinstance(others, list | tuple) else (),
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


@dataclass(frozen=True)
class BackendState:
    """What a backend's health probe found.

    `serving`: queries can be answered (perhaps from older data); `fault`: something an
    operator must fix, empty when all is well (a backend can serve with a fault, e.g.
    an extract that was refused while the previous one stays in use).
    """

    serving: bool
    fault: str = ""
    #: when the data served was taken (RFC 3339), for backends that serve a copy
    data_as_of: str | None = None


@runtime_checkable
class AgencyView(Protocol):
    """One consistent view of an agency's data, used for the whole of one query."""

    #: when the data in this view was taken (RFC 3339), or None for a live system of record
    data_as_of: str | None

    async def candidates(self, query: QueryIdentifiers) -> list[Person]:
        """As `AgencyBackend.candidates`, without blocking the event loop."""
        ...

    async def records_for(self, person_id: str, categories: Collection[Category]) -> list[Record]:
        """As `AgencyBackend.records_for`, without blocking the event loop."""
        ...

    def name_frequencies(self) -> NameFrequencies | None:
        """How often each name occurs in this data (None: matching uses flat weights)."""
        ...


@runtime_checkable
class AsyncAgencyBackend(Protocol):
    """What the adapter's event loop calls; see the module docstring."""

    def view(self) -> AgencyView:
        """The view one query reads through (cheap; a live backend returns itself)."""
        ...

    async def probe(self) -> BackendState:
        """A cheap health check of the system of record (raise `BackendError` if unusable)."""
        ...

    async def aclose(self) -> None:
        """Release the backend's resources."""
        ...


class BackendFactory(Protocol):
    """What a config's `backend` names: it opens the agency's system of record.

    A synchronous backend is served from a thread pool; an asynchronous one as it is.
    """

    def __call__(self, config: AdapterConfig, options: Mapping[str, object], /,
                 ) -> AgencyBackend | AsyncAgencyBackend:
        """The backend of `config`, with its `[backend_options]` table."""
        ...
