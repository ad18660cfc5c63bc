"""Subject access: every request that named a person, and "who has looked at this child".

The person is found by keyed pseudonym (`audit.pseudonyms`); the report
lists, per request, when, which organisation and role, why (purpose, gateway,
consent), and for each agency what really happened *for this person*: disclosed
(and which kinds of information, about them only), not known, a possible match,
withheld and why, held for review, or no answer -- as the broker recorded it,
never another person's data and never the contents of agency records. Every
value is in plain English (`audit.sar_text`); no internal code is printed. Staff
ids are replaced by roles unless `staff="ids"` (the agreement decides).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import jinja2

from audit import sar_text as words
from audit.events import EventKind
from audit.query import SearchFilter, search
from audit.reading import AuditRecord
from mash.canonical import JsonValue
from mash.home import Home

StaffDisplay = Literal["roles", "ids"]

#: Events that are someone accessing information about the person.
ACCESS_KINDS: frozenset[EventKind] = frozenset({
    EventKind.LOOKUP_REQUESTED, EventKind.SUMMARY_VIEWED, EventKind.BREAK_GLASS})


@dataclass(frozen=True)
class AgencyAnswer:
    """What one agency did about this person within one request, in plain English."""

    agency: str
    outcome: str  # e.g. "disclosed information about you", "did not know you"
    why: tuple[str, ...] = ()  # reasons, for a withheld or failed answer
    categories: tuple[str, ...] = ()  # the kinds of information disclosed about this person


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
    other_accesses: tuple[dict[str, str | int], ...] = field(default=())

    def to_json_dict(self) -> dict[str, JsonValue]:
        """The JSON form."""
        return {
            "report": "subject access report: requests for information that named you",
            "produced_at": self.produced_at,
            "identifiers_used": list(self.identifiers_used),
            "requests": [_request_dict(r) for r in self.requests],
            "other_accesses": list(self.other_accesses),
        }


def _request_dict(r: SarRequest) -> dict[str, JsonValue]:
    d: dict[str, JsonValue] = {k: v for k, v in r.__dict__.items() if k not in ("agencies",)}
    d["agencies"] = [a.__dict__ | {"why": list(a.why), "categories": list(a.categories)}
                     for a in r.agencies]
    return {k: v for k, v in d.items() if v not in (None, "", 0)}


def build_sar(home: Home, pseudonyms: Sequence[str], *, identifiers_used: Sequence[str],
              now: datetime, staff: StaffDisplay = "roles") -> SarReport:
    """The report of every request naming any of `pseudonyms`, across the home's logs."""
    naming = search(home, SearchFilter(pseudonyms=tuple(pseudonyms), person_required=True))
    lookups = [r for r in naming if r.event.kind is EventKind.LOOKUP_REQUESTED]
    requests = [_request(home, r, staff, frozenset(pseudonyms)) for r in lookups]
    seen = {(r.log, r.entry_id) for r in lookups}
    others = tuple(_access_dict(r, staff) for r in naming
                   if (r.log, r.entry_id) not in seen and r.event.kind in ACCESS_KINDS)
    return SarReport(produced_at=now.isoformat(timespec="seconds"),
                     identifiers_used=tuple(identifiers_used),
                     requests=tuple(requests), other_accesses=others)


#: Reason codes that explain why something was shared, not why it was not.
_PERMITTING = frozenset({"consent_permits", "break_glass_applied"})
#: When several of the person's subjects (pseudonyms) were in one request, the outcome that
#: says most about what was shared wins.
_RANK = ("disclosed", "matched_nothing_shared", "possible_match", "not_known", "withheld",
         "pending_research", "failed")
#: An agency-level status that holds for every subject of the answer (older entries without
#: a per-subject record): anything else is reported as "answered".
_SAME_FOR_EVERY_SUBJECT = {"not_known": "not_known", "withheld": "withheld",
                           "policy_mismatch": "failed", "unavailable": "failed"}


@dataclass
class _Agency:
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    asked: bool = False
    review: str | None = None
    outcome: str | None = None
    failure: str | None = None
    categories: set[str] = field(default_factory=set)


def _subjects_of(intent: AuditRecord, pseudonyms: frozenset[str]) -> frozenset[str] | None:
    """The subject ids the person was named as in this request (None: not recorded)."""
    e = intent.event
    recorded = e.detail.get("pseudonym_subjects") if e.detail else None
    if not recorded:
        return None
    ids = recorded.split(",")
    if len(ids) != len(e.subject_pseudonyms):
        return None
    return frozenset(sid for sid, p in zip(ids, e.subject_pseudonyms, strict=True)
                     if p in pseudonyms)


def _disclosed(a: _Agency, detail: Mapping[str, str], outcome: str | None,
               subjects: frozenset[str] | None) -> None:
    """What a verified answer meant for the person (their subjects only)."""
    per_subject = detail.get("subject_outcomes", "") if detail else ""
    if subjects is None or not per_subject:
        a.outcome = _SAME_FOR_EVERY_SUBJECT.get(outcome or "", "answered")
        return
    found: list[str] = []
    for item in per_subject.split(";"):
        sid, _, rest = item.partition("=")
        result, _, cats = rest.partition("=")
        if sid in subjects:
            found.append(result)
            a.categories.update(c for c in cats.split("+") if c)
    known = [r for r in _RANK if r in found]
    a.outcome = known[0] if known else "not_known"


def _answer(name: str, a: _Agency) -> AgencyAnswer:
    why: tuple[str, ...] = ()
    if a.outcome is not None:
        outcome = a.outcome
        if outcome == "failed" and a.failure:
            why = (a.failure,)
        elif outcome == "withheld":
            why = tuple(words.reason_text(r) for r in a.reasons if r not in _PERMITTING)
    elif a.review == "rejected":
        outcome = "review_rejected"
    elif a.review == "pending" or (a.decision == "REVIEW" and not a.asked):
        outcome = "pending_review"
    elif a.asked:
        outcome = "failed"  # asked, and no answer was ever recorded
    elif a.decision is not None:
        outcome = "withheld"
        why = tuple(words.reason_text(r) for r in a.reasons if r not in _PERMITTING)
    else:
        outcome = "not_asked"
    categories = tuple(sorted(words.CATEGORIES.get(c, "other information")
                              for c in a.categories)) if outcome == "disclosed" else ()
    return AgencyAnswer(agency=words.label(words.AGENCIES, name, "another agency"),
                        outcome=words.OUTCOMES.get(outcome, words.OUTCOMES["answered"]),
                        why=tuple(dict.fromkeys(why)), categories=categories)


_LOOKUP_OUTCOMES = {
    "completed": "completed",
    "error": "stopped before anything was sent",
    "outcome_unknown": "interrupted; what happened next was not recorded",
}


def _request(home: Home, intent: AuditRecord, staff: StaffDisplay,
             pseudonyms: frozenset[str] = frozenset()) -> SarRequest:
    e = intent.event
    subjects = _subjects_of(intent, pseudonyms)
    related = search(home, SearchFilter.of_lookup(e)) if e.lookup_id else []
    answers: dict[str, _Agency] = defaultdict(_Agency)
    outcome = None
    for r in related:
        ev = r.event
        if not r.log.startswith("broker"):
            continue  # the broker's record is the outcome; adapters' logs are reconciled
        a = answers[ev.agency] if ev.agency else None
        if a is None:
            if ev.kind in (EventKind.LOOKUP_COMPLETED, EventKind.OUTCOME_UNKNOWN):
                outcome = ev.outcome or ev.kind.value
            continue
        if ev.kind is EventKind.POLICY_DECISION:
            a.decision, a.reasons = ev.decision, ev.reasons
        elif ev.kind is EventKind.REVIEW_REQUESTED:
            a.review = a.review or "pending"
        elif ev.kind is EventKind.REVIEW_APPROVED:
            a.review = "approved"
        elif ev.kind is EventKind.REVIEW_REJECTED:
            a.review = "rejected"
        elif ev.kind is EventKind.QUERY_SENT:
            a.asked = True
        elif ev.kind is EventKind.DISCLOSURE_VERIFIED:
            _disclosed(a, ev.detail, ev.outcome, subjects)
        elif ev.kind is EventKind.DISCLOSURE_REJECTED:
            a.outcome = "failed"
            a.failure = words.signature_failure(ev.reasons[0] if ev.reasons else "")
    agencies = tuple(_answer(name, a) for name, a in sorted(answers.items()))
    consent = words.label(words.CONSENT_STATES, e.consent_state)
    return SarRequest(
        when=intent.ts, referral_id=e.referral_id, lookup_id=e.lookup_id,
        organisation=e.actor_org, role=words.label(words.ROLES, e.actor_role, "staff member"),
        staff_id=e.actor_id if staff == "ids" else None,
        purpose=words.label(words.PURPOSES, e.purpose),
        statutory_gateway=words.label(words.GATEWAYS, e.statutory_gateway),
        consent_state=consent,
        consent_reason=(words.label(words.CONSENT_REASONS, e.consent_reason,
                                    words.UNKNOWN_REASON) if e.consent_reason else None),
        rag=words.label(words.RATINGS, e.rag), outcome=_LOOKUP_OUTCOMES.get(outcome or ""),
        agencies=agencies, log=intent.log, entry_id=intent.entry_id)


def _access_dict(r: AuditRecord, staff: StaffDisplay) -> dict[str, str | int]:
    e = r.event
    d: dict[str, str | int | None] = {
        "when": r.ts, "what": e.kind.value, "organisation": e.actor_org, "role": e.actor_role,
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


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("audit", "templates"),
    # Every value is escaped: what the log holds is data, never markup.
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_html(report: SarReport) -> str:
    """A self-contained, readable HTML page of the report (every value escaped by Jinja2)."""
    return _TEMPLATES.get_template("sar.html").render(report=report, when=_when)


_ACCESS_WORDS = {
    "lookup_requested": "a request for information",
    "summary_viewed": "the summary of a referral was read",
    "break_glass": "urgent access (break-glass)",
}


def _when(ts: str) -> str:
    return ts.replace("T", " ")[:19]
