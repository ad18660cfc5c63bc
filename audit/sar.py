"""Subject access: every request that named a person, and "who has looked at this child".

The person is found by keyed pseudonym (`audit.pseudonyms`); the report
lists, per request, when, which organisation and role, why (purpose, gateway,
consent), which agencies were asked, what each decided and what came back --
never another person's data and never the contents of agency records. Staff
ids are replaced by roles unless `staff="ids"` (the agreement decides).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from audit.events import EventKind
from audit.query import SearchFilter, search
from audit.reading import AuditRecord
from mash.home import Home

StaffDisplay = Literal["roles", "ids"]

#: Events that are someone accessing information about the person.
ACCESS_KINDS: frozenset[EventKind] = frozenset({
    EventKind.LOOKUP_REQUESTED, EventKind.SUMMARY_VIEWED, EventKind.BREAK_GLASS})


@dataclass(frozen=True)
class AgencyAnswer:
    """What one agency was asked and did, within one request."""

    agency: str
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    asked: bool = False
    outcome: str | None = None  # disclosed / rejected / ...
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class SarRequest:
    """One request (a lookup) that named the person."""

    when: str
    referral_id: str | None
    lookup_id: str | None
    organisation: str | None
    role: str | None
    staff_id: str | None
    purpose: str | None
    statutory_gateway: str | None
    consent_state: str | None
    consent_reason: str | None
    rag: str | None
    outcome: str | None
    agencies: tuple[AgencyAnswer, ...] = ()
    log: str = ""
    entry_id: int = 0


@dataclass(frozen=True)
class SarReport:
    """The subject-access report for one person."""

    produced_at: str
    identifiers_used: tuple[str, ...]  # which kinds ("NHS number", "name and date of birth")
    requests: tuple[SarRequest, ...]
    other_accesses: tuple[dict[str, Any], ...] = field(default=())

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "report": "subject access report: requests for information that named you",
            "produced_at": self.produced_at,
            "identifiers_used": list(self.identifiers_used),
            "requests": [_request_dict(r) for r in self.requests],
            "other_accesses": list(self.other_accesses),
        }


def _request_dict(r: SarRequest) -> dict[str, Any]:
    d: dict[str, Any] = {k: v for k, v in r.__dict__.items() if k not in ("agencies",)}
    d["agencies"] = [a.__dict__ | {"reasons": list(a.reasons), "categories": list(a.categories)}
                     for a in r.agencies]
    return {k: v for k, v in d.items() if v not in (None, "", 0)}


def build_sar(home: Home, pseudonyms: Sequence[str], *, identifiers_used: Sequence[str],
              now: datetime, staff: StaffDisplay = "roles") -> SarReport:
    """The report of every request naming any of `pseudonyms`, across the home's logs."""
    naming = search(home, SearchFilter(pseudonyms=tuple(pseudonyms), person_required=True))
    lookups = [r for r in naming if r.event.kind is EventKind.LOOKUP_REQUESTED]
    requests = [_request(home, r, staff) for r in lookups]
    seen = {(r.log, r.entry_id) for r in lookups}
    others = tuple(_access_dict(r, staff) for r in naming
                   if (r.log, r.entry_id) not in seen and r.event.kind in ACCESS_KINDS)
    return SarReport(produced_at=now.isoformat(timespec="seconds"),
                     identifiers_used=tuple(identifiers_used),
                     requests=tuple(requests), other_accesses=others)


def _request(home: Home, intent: AuditRecord, staff: StaffDisplay) -> SarRequest:
    e = intent.event
    related = search(home, SearchFilter.of_lookup(e)) if e.lookup_id else []
    answers: dict[str, dict[str, Any]] = defaultdict(dict)
    outcome = None
    for r in related:
        ev = r.event
        if ev.kind is EventKind.POLICY_DECISION and ev.agency:
            answers[ev.agency].update(decision=ev.decision, reasons=ev.reasons)
        elif ev.kind is EventKind.QUERY_SENT and ev.agency:
            answers[ev.agency]["asked"] = True
        elif ev.kind in (EventKind.DISCLOSURE_VERIFIED, EventKind.DISCLOSURE_REJECTED) \
                and ev.agency:
            answers[ev.agency]["outcome"] = ("disclosed" if ev.kind is
                                             EventKind.DISCLOSURE_VERIFIED else "rejected")
            if ev.categories:
                answers[ev.agency]["categories"] = ev.categories
        elif ev.kind in (EventKind.LOOKUP_COMPLETED, EventKind.OUTCOME_UNKNOWN):
            outcome = ev.outcome or ev.kind.value
    agencies = tuple(AgencyAnswer(agency=a, **fields) for a, fields in sorted(answers.items()))
    return SarRequest(
        when=intent.ts, referral_id=e.referral_id, lookup_id=e.lookup_id,
        organisation=e.actor_org, role=e.actor_role,
        staff_id=e.actor_id if staff == "ids" else None, purpose=e.purpose,
        statutory_gateway=e.statutory_gateway, consent_state=e.consent_state,
        consent_reason=e.consent_reason, rag=e.rag, outcome=outcome, agencies=agencies,
        log=intent.log, entry_id=intent.entry_id)


def _access_dict(r: AuditRecord, staff: StaffDisplay) -> dict[str, Any]:
    e = r.event
    d = {"when": r.ts, "what": e.kind.value, "organisation": e.actor_org, "role": e.actor_role,
         "staff_id": e.actor_id if staff == "ids" else None, "referral_id": e.referral_id,
         "purpose": e.purpose, "log": r.log, "entry_id": r.entry_id}
    return {k: v for k, v in d.items() if v is not None}


def last_accesses(home: Home, pseudonyms: Sequence[str], *, limit: int = 25) -> list[AuditRecord]:
    """The latest `limit` accesses to a person, newest first ("who has looked at this child").

    An access is a lookup naming the person, a break-glass, or a view of the
    summary of a referral in which the person was named.
    """
    naming = search(home, SearchFilter(pseudonyms=tuple(pseudonyms), person_required=True))
    accesses = [r for r in naming if r.event.kind in ACCESS_KINDS]
    seen = {(r.log, r.entry_id) for r in accesses}
    for referral in sorted({r.event.referral_id for r in naming if r.event.referral_id}):
        for r in search(home, SearchFilter(referral=referral,
                                           kinds=(EventKind.SUMMARY_VIEWED.value,
                                                  EventKind.BREAK_GLASS.value))):
            if (r.log, r.entry_id) not in seen:
                accesses.append(r)
                seen.add((r.log, r.entry_id))
    accesses.sort(key=lambda r: (r.ts, r.log, r.entry_id), reverse=True)
    return accesses[:limit]


def render_html(report: SarReport) -> str:
    """A self-contained, readable HTML page of the report (every value escaped)."""
    esc = html.escape
    rows = []
    for r in report.requests:
        agencies = "".join(
            f"<li><b>{esc(a.agency)}</b>: "
            f"{esc(a.decision or 'no decision recorded')}"
            + (f" ({esc(', '.join(a.reasons))})" if a.reasons else "")
            + ("; asked" if a.asked else "; not asked")
            + (f"; {esc(a.outcome)}" if a.outcome else "")
            + (f" [{esc(', '.join(a.categories))}]" if a.categories else "") + "</li>"
            for a in r.agencies) or "<li>none</li>"
        who = esc(r.role or "unknown role") + (f" ({esc(r.staff_id)})" if r.staff_id else "")
        consent = esc(r.consent_state or "not recorded") + (
            f" &ndash; {esc(r.consent_reason)}" if r.consent_reason else "")
        rows.append(
            "<tr>"
            f"<td>{esc(_when(r.when))}</td><td>{esc(r.organisation or '')}</td><td>{who}</td>"
            f"<td>{esc(r.purpose or '')}<br><small>{esc(r.statutory_gateway or '')}</small></td>"
            f"<td>{consent}</td><td>{esc((r.rag or '').upper())}</td>"
            f"<td><ul>{agencies}</ul></td><td>{esc(r.outcome or 'not recorded')}</td>"
            f"<td><small>{esc(r.referral_id or '')}</small></td></tr>")
    others = "".join(
        f"<li>{esc(_when(str(a.get('when', ''))))}: {esc(str(a.get('what', '')))} by "
        f"{esc(str(a.get('role', 'unknown role')))} ({esc(str(a.get('organisation', '')))})</li>"
        for a in report.other_accesses)
    return f"""<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8">
<title>Subject access report</title>
<style>
body {{ font-family: Arial, sans-serif; margin: 2em; color: #0b0c0c; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #b1b4b6; padding: .4em; vertical-align: top; text-align: left; }}
th {{ background: #f3f2f1; }} ul {{ margin: 0; padding-left: 1.2em; }}
</style></head><body>
<h1>Subject access report</h1>
<p>Every request for information made through the Multi-Agency Safeguarding Hub that named
you, with who asked (organisation and role), why, which agencies were asked and what each
decided. It does not include the information the agencies hold; you can ask each agency for
that directly.</p>
<p>Produced {esc(report.produced_at)}, found by: {esc(', '.join(report.identifiers_used))}.
{len(report.requests)} request(s).</p>
<table><thead><tr><th>When (UTC)</th><th>Organisation</th><th>Role</th><th>Purpose and law</th>
<th>Consent</th><th>Rating</th><th>Agencies asked and their decisions</th><th>Outcome</th>
<th>Referral</th></tr></thead>
<tbody>
{''.join(rows) or '<tr><td colspan="9">No requests named you.</td></tr>'}
</tbody></table>
{f'<h2>Other accesses</h2><ul>{others}</ul>' if others else ''}
</body></html>
"""


def _when(ts: str) -> str:
    return ts.replace("T", " ")[:19]
