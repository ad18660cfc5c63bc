"""Reconciliation: every adapter disclosure matched to the broker event that asked for it.

The broker logs `query_sent` (query id, agency, query hash) before it sends,
and `disclosure_verified` / `disclosure_rejected` (query id, disclosure hash)
for what came back. Each adapter logs `query_received`, then
`disclosure_sent` (query id, disclosure hash) or `query_rejected`. Matching on
the query id, the differences are:

* SERIOUS  -- a disclosure (or a query) at an adapter the broker never logged
  asking for: information left an agency with no record of why;
* SERIOUS  -- the broker and the adapter recorded different disclosure hashes;
* WARNING  -- a disclosure sent that the broker never recorded receiving (lost
  in transit or after the deadline), or a query sent that never arrived.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from audit.events import EventKind
from audit.query import SearchFilter, search_paths
from audit.reading import AuditRecord, logs_in
from mash.home import Home


class Severity(StrEnum):
    """How bad a difference is."""

    SERIOUS = "serious"
    WARNING = "warning"


@dataclass(frozen=True)
class Difference:
    """One mismatch between the broker's log and an adapter's."""

    severity: Severity
    problem: str
    query_id: str | None
    agency: str | None
    referral_id: str | None
    where: str  # `log:entry` of the entry that has no partner

    def line(self) -> str:
        """One readable line."""
        return (f"{self.severity.upper():<8} {self.where:<24} query={self.query_id} "
                f"agency={self.agency} referral={self.referral_id}: {self.problem}")


@dataclass(frozen=True)
class ReconcileReport:
    """The outcome of one reconciliation."""

    broker_logs: tuple[str, ...]
    adapter_logs: tuple[str, ...]
    queries_matched: int
    disclosures_matched: int
    differences: tuple[Difference, ...]

    @property
    def serious(self) -> bool:
        """True if any difference is serious."""
        return any(d.severity is Severity.SERIOUS for d in self.differences)


_BROKER_KINDS = (EventKind.QUERY_SENT, EventKind.DISCLOSURE_VERIFIED,
                 EventKind.DISCLOSURE_REJECTED, EventKind.DISCLOSURE_RECEIVED)
_ADAPTER_KINDS = (EventKind.QUERY_RECEIVED, EventKind.DISCLOSURE_SENT, EventKind.QUERY_REJECTED)


def _by_kind(records: Iterable[AuditRecord], kind: EventKind) -> dict[str, AuditRecord]:
    return {r.event.query_id: r for r in records
            if r.event.kind is kind and r.event.query_id is not None}


def reconcile(home: Home, *, broker_prefix: str = "broker",
              adapter_prefix: str = "adapter-") -> ReconcileReport:
    """Match the broker log(s) against every adapter log under the home."""
    paths = logs_in(home)
    brokers = [p for p in paths if p.stem.startswith(broker_prefix)]
    adapters = [p for p in paths if p.stem.startswith(adapter_prefix)]
    return reconcile_paths(brokers, adapters, broker_prefix=broker_prefix + "-")


def reconcile_paths(brokers: list[Path], adapters: list[Path],
                    broker_prefix: str = "broker-") -> ReconcileReport:
    """`reconcile` over explicit log files.

    An adapter may serve several MASH brokers; its entries name the broker in
    `actor_org`. Unmatched entries for a broker whose log is not among
    `brokers` are reported once per broker as a WARNING (reconcile them where
    that broker's log is), never silently dropped.
    """
    b = search_paths(brokers, SearchFilter(kinds=tuple(k.value for k in _BROKER_KINDS)))
    a = search_paths(adapters, SearchFilter(kinds=tuple(k.value for k in _ADAPTER_KINDS)))
    local = {p.stem[len(broker_prefix):] for p in brokers if p.stem.startswith(broker_prefix)}
    sent = _by_kind(b, EventKind.QUERY_SENT)
    answered = {**_by_kind(b, EventKind.DISCLOSURE_RECEIVED),
                **_by_kind(b, EventKind.DISCLOSURE_REJECTED),
                **_by_kind(b, EventKind.DISCLOSURE_VERIFIED)}
    disclosed = _by_kind(a, EventKind.DISCLOSURE_SENT)
    refused = _by_kind(a, EventKind.QUERY_REJECTED)
    # Any adapter entry about a query shows it arrived (adapters need not log query_received).
    received = {**refused, **_by_kind(a, EventKind.QUERY_RECEIVED), **disclosed}
    diffs: list[Difference] = []
    foreign: dict[str, list[AuditRecord]] = {}

    def diff(sev: Severity, problem: str, r: AuditRecord) -> None:
        e = r.event
        diffs.append(Difference(sev, problem, e.query_id, e.agency, e.referral_id,
                                f"{r.log}:{r.entry_id}"))

    def unmatched_at_adapter(sev: Severity, problem: str, r: AuditRecord) -> None:
        org = r.event.actor_org
        if org and brokers and org not in local and r.event.kind is not EventKind.QUERY_REJECTED:
            foreign.setdefault(org, []).append(r)
        else:
            diff(sev, problem, r)

    matched_disclosures = 0
    for qid, r in disclosed.items():
        if qid not in sent:
            unmatched_at_adapter(Severity.SERIOUS,
                                 "disclosure the broker never logged asking for", r)
            continue
        got = answered.get(qid)
        if got is None:
            diff(Severity.WARNING, "disclosure sent, never recorded as received by the broker", r)
        elif got.event.kind is EventKind.DISCLOSURE_REJECTED and not got.event.disclosure_hash:
            diff(Severity.WARNING, "disclosure sent after the broker stopped waiting "
                 f"(broker outcome: {got.event.outcome or 'rejected'})", r)
        elif (got.event.disclosure_hash and r.event.disclosure_hash
              and got.event.disclosure_hash != r.event.disclosure_hash):
            diff(Severity.SERIOUS, "broker and adapter recorded different disclosures "
                 f"({got.log}:{got.entry_id} has another hash)", r)
        else:
            matched_disclosures += 1
    for qid, r in received.items():
        if qid in sent or qid in disclosed:
            continue  # matched, or already reported as an unasked-for disclosure
        if r.event.kind is EventKind.QUERY_REJECTED:
            diff(Severity.WARNING, "adapter refused a query this broker never logged sending "
                 "(forged, replayed or from another broker)", r)
        else:
            unmatched_at_adapter(Severity.SERIOUS,
                                 "query received that the broker never logged sending", r)
    for qid, r in answered.items():
        if qid not in disclosed and r.event.disclosure_hash \
                and r.event.kind is not EventKind.DISCLOSURE_REJECTED:
            diff(Severity.SERIOUS, "broker recorded a disclosure no adapter logged sending", r)
    matched_queries = 0
    for qid, r in sent.items():
        if qid in received:
            matched_queries += 1
        else:
            diff(Severity.WARNING, "query sent, never recorded as received by the adapter", r)
    for org, records in sorted(foreign.items()):
        first = records[0]
        diffs.append(Difference(
            Severity.WARNING, f"{len(records)} unmatched adapter entries name broker {org!r}, "
            "whose log is not here: reconcile them against that broker's log",
            first.event.query_id, first.event.agency, first.event.referral_id,
            f"{first.log}:{first.entry_id}"))
    diffs.sort(key=lambda d: (d.severity is not Severity.SERIOUS, d.where))
    return ReconcileReport(tuple(p.stem for p in brokers), tuple(p.stem for p in adapters),
                           matched_queries, matched_disclosures, tuple(diffs))
