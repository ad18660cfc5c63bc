"""A merged chronology across agencies, newest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from broker.indicators import Indicator, SourcedFact


@dataclass(frozen=True)
class ChronologyEntry:
    """One dated event from one agency's disclosed record."""

    occurred_on: date | None
    agency: str
    subject_id: str
    category: str
    summary: str
    record_id: str
    #: Codes of the indicators this record raised (empty if none).
    indicator_codes: tuple[str, ...] = ()

    @property
    def date_text(self) -> str:
        """`YYYY-MM-DD`, or `undated`."""
        return self.occurred_on.isoformat() if self.occurred_on else "undated"


def merged_chronology(facts: Iterable[SourcedFact],
                      indicators: Iterable[Indicator] = ()) -> list[ChronologyEntry]:
    """Every fact as a chronology entry: newest first, undated last.

    Ties (same day) are ordered by agency, then record id, so the order is
    stable from one rendering to the next.
    """
    flagged: dict[tuple[str, str, str], list[str]] = {}
    for ind in indicators:
        flagged.setdefault((ind.agency, ind.subject_id, ind.record_id), []).append(ind.code)
    entries = [
        ChronologyEntry(f.occurred_on, f.agency, f.subject_id, f.category, f.summary,
                        f.record_id, tuple(flagged.get((f.agency, f.subject_id, f.record_id), ())))
        for f in facts
    ]
    dated = sorted((e for e in entries if e.occurred_on is not None),
                   key=lambda e: (e.agency, e.record_id, e.subject_id))
    dated.sort(key=lambda e: e.occurred_on or date.min, reverse=True)
    undated = sorted((e for e in entries if e.occurred_on is None),
                     key=lambda e: (e.agency, e.record_id, e.subject_id))
    return dated + undated


def by_agency(entries: Iterable[ChronologyEntry]) -> Mapping[str, list[ChronologyEntry]]:
    """Entries grouped by agency (for timeline lanes), in first-seen order."""
    lanes: dict[str, list[ChronologyEntry]] = {}
    for entry in entries:
        lanes.setdefault(entry.agency, []).append(entry)
    return lanes
