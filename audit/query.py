"""Searching the logs under a home: the filters IG leads use, across every log.

Filters on core fields run in SQLite against the expression indexes; a person
filter goes through the pseudonym index (one B-tree lookup per identifier), so
finding one person among a million entries stays well under 100 ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from audit.events import AuditEvent, EventKind
from audit.hours import OfficeHours, parse_ts
from audit.log import format_ts
from audit.reading import AuditRecord, logs_in, records_where
from mash.home import Home
from mash.sqlvalues import SqlValue
from mash.working_calendar import home_calendar

#: Consent states under which sharing goes ahead only by overriding or not seeking consent.
OVERRIDE_CONSENT_STATES: tuple[str, ...] = ("refused", "withdrawn", "not_sought")


OFFICE_HOURS = OfficeHours()


@dataclass(frozen=True)
class SearchFilter:
    """What to look for; every field left empty matches everything."""

    pseudonyms: tuple[str, ...] = ()  # a person, pseudonymised at query time
    requester: str | None = None      # actor id
    role: str | None = None
    org: str | None = None
    agency: str | None = None
    referral: str | None = None
    lookup: str | None = None
    decision: str | None = None
    purpose: str | None = None
    kinds: tuple[str, ...] = ()
    break_glass: bool = False
    consent_override: bool = False
    green_without_consent: bool = False
    after_hours: bool = False
    since: datetime | None = None
    until: datetime | None = None
    logs: tuple[str, ...] = ()        # file stems; empty = every log
    person_required: bool = False     # a person search whose identifiers gave no pseudonym

    @classmethod
    def of_lookup(cls, intent: AuditEvent, *, kinds: tuple[str, ...] = ()) -> SearchFilter:
        """The entries of the lookup `intent` started, in every log (of `kinds` only, if given).

        `lookup_id` has no index of its own (only recovery's partial one), but every entry
        of a lookup carries its referral: the referral index finds them.
        """
        return cls(referral=intent.referral_id, lookup=intent.lookup_id, kinds=kinds)

    def sql(self) -> tuple[str, list[SqlValue]]:
        """The SQL condition on `entries` and its parameters (fixed column names only)."""
        where: list[str] = []
        params: list[SqlValue] = []

        def field(name: str) -> str:
            return f"json_extract(core, '$.{name}')"

        if self.pseudonyms or self.person_required:
            marks = ",".join("?" * len(self.pseudonyms)) or "NULL"
            where.append(  # only `?` placeholders are interpolated
                f"id IN (SELECT entry_id FROM subjects WHERE pseudonym IN ({marks}))")  # noqa: S608
            params += list(self.pseudonyms)
        for name, value in (("actor_id", self.requester), ("actor_role", self.role),
                            ("actor_org", self.org), ("agency", self.agency),
                            ("referral_id", self.referral), ("lookup_id", self.lookup),
                            ("decision", self.decision), ("purpose", self.purpose)):
            if value is not None:
                where.append(f"{field(name)} = ?")
                params.append(str(value))
        kinds = list(self.kinds) + ([EventKind.BREAK_GLASS.value] if self.break_glass else [])
        if kinds:
            where.append(f"{field('kind')} IN ({','.join('?' * len(kinds))})")
            params += kinds
        if self.consent_override:
            marks = ",".join("?" * len(OVERRIDE_CONSENT_STATES))
            where.append(f"{field('consent_state')} IN ({marks})")
            params += list(OVERRIDE_CONSENT_STATES)
        if self.green_without_consent:
            where.append(f"{field('rag')} = 'green' AND coalesce({field('consent_state')}, '')"
                         " <> 'given'")
        if self.since is not None:
            where.append(f"{field('ts')} >= ?")
            params.append(format_ts(self.since))
        if self.until is not None:
            where.append(f"{field('ts')} < ?")
            params.append(format_ts(self.until))
        return (" AND ".join(where) or "1"), params


def search(home: Home, flt: SearchFilter, *, limit: int | None = None,
           office_hours: OfficeHours | None = None) -> list[AuditRecord]:
    """Entries across the home's logs matching `flt`, oldest first (at most `limit`).

    "After hours" is outside the home's working calendar unless `office_hours` says otherwise.
    """
    hours = office_hours or OfficeHours(home_calendar(home))
    return search_paths(_paths(home, flt.logs), flt, limit=limit, office_hours=hours)


def search_paths(paths: Sequence[Path], flt: SearchFilter, *, limit: int | None = None,
                 office_hours: OfficeHours = OFFICE_HOURS) -> list[AuditRecord]:
    """`search` over explicit log files."""
    where, params = flt.sql()
    out: list[AuditRecord] = []
    for path in paths:
        for record in records_where(path, where, params):
            if flt.after_hours and not office_hours.is_after_hours(parse_ts(record.ts)):
                continue
            out.append(record)
    out.sort(key=lambda r: (r.ts, r.log, r.entry_id))
    return out[:limit] if limit is not None else out


def _paths(home: Home, logs: Sequence[str]) -> list[Path]:
    paths = logs_in(home)
    return [p for p in paths if p.stem in logs] if logs else paths
