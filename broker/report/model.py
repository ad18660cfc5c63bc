"""The summary report as one frozen value, built from a referral and its lookups' summaries.

Renderers (JSON, text, HTML) only format a `Report`; every judgement --
which facts count, which indicators fire, the timescale state, the order of
the chronology -- is made here once, so the three formats never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from broker.indicators import (
    CSC_RECENT_CLOSURE_DAYS,
    Indicator,
    IndicatorContext,
    KnownToCsc,
    disclosed_facts,
    find_indicators,
    known_to_csc,
    parse_day,
)
from broker.referral_record import Referral, SummaryDeletion
from broker.referrals import RETENTION_DELETED
from broker.report.chronology import ChronologyEntry, merged_chronology
from broker.timescales import DEFAULT_CALENDAR, WorkingCalendar, timescale_state
from mash.v1 import mash_pb2
from mash.vocab import AGENCY_CATEGORIES, Agency, AgencyStatus, ReferralStatus

#: Report format version (bump when a JSON field changes meaning).
#: 2: `agencies` holds each agency's latest answer; earlier ones are `earlier_agencies`.
REPORT_VERSION = 2

#: Statuses that are an agency's answer (anything else says why there is none).
ANSWERED = frozenset({AgencyStatus.DISCLOSED.value, AgencyStatus.NOT_KNOWN.value,
                      AgencyStatus.POSSIBLE_MATCH.value})


@dataclass(frozen=True)
class FactView:
    """One disclosed fact as shown in an agency section."""

    subject_id: str
    record_id: str
    category: str
    occurred_on: str
    summary: str
    attributes: Mapping[str, str]
    lookup_id: str = ""


@dataclass(frozen=True)
class SubjectMatch:
    """How one referral subject matched in one agency's records."""

    subject_id: str
    match_band: str
    match_score: float
    confirm_hint: str
    invalid_identifiers: tuple[str, ...]
    withheld_categories: tuple[str, ...]


@dataclass(frozen=True)
class AgencySection:
    """One agency's answer to one lookup."""

    agency: str
    lookup_id: str
    lookup_rag: str
    status: str
    decision: str
    reasons: tuple[tuple[str, str], ...]
    matches: tuple[SubjectMatch, ...]
    facts_by_category: tuple[tuple[str, tuple[FactView, ...]], ...]
    signer_key_id: str
    agreement_id: str
    agreement_version: str
    latency_ms: float
    deleted_under_retention: bool
    #: the lookups this block's matches and facts come from (newest first): more than one
    #: when a later lookup asked for some categories only (a re-ask after re-rating)
    from_lookups: tuple[str, ...] = ()
    #: a newer lookup's part that is not an answer (timed out, withheld, pending review ...),
    #: shown with the latest answer so it is never hidden
    latest_attempt: AgencySection | None = None


@dataclass(frozen=True)
class LookupView:
    """One lookup made for the referral."""

    lookup_id: str
    rag: str
    purpose: str
    statutory_gateway: str
    generated_at: str
    due_at: str
    broker_id: str


@dataclass(frozen=True)
class TimescaleView:
    """The referral's timescale: due time and state at the report's time."""

    rag: str
    due_at: datetime
    #: on_track | at_risk | breached (open referrals); met | missed (decided); closed.
    state: str


@dataclass(frozen=True)
class Report:
    """Everything a team manager decides from, for one referral."""

    referral: Referral
    generated_at: datetime
    timescale: TimescaleView
    known_to_csc: tuple[KnownToCsc, ...]
    lookups: tuple[LookupView, ...]
    agencies: tuple[AgencySection, ...]
    indicators: tuple[Indicator, ...]
    chronology: tuple[ChronologyEntry, ...]
    deletions: tuple[SummaryDeletion, ...]
    #: answers superseded by a later answer of the same agency, newest first
    earlier: tuple[AgencySection, ...] = ()


def build_report(referral: Referral, summaries: Sequence[mash_pb2.ReferralSummary], *,
                 now: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR,
                 deletions: Sequence[SummaryDeletion] = (),
                 csc_window_days: int = CSC_RECENT_CLOSURE_DAYS) -> Report:
    """The report for `referral` from its lookups' `summaries` (oldest first), at `now`.

    Each agency appears once, with its latest answer (`latest_sections`); its
    earlier answers are kept in `earlier`. Indicators are judged as of `now`'s
    date; the known-to-CSC rule likewise.
    Summaries for another referral are ignored (never mixed into this one).
    """
    mine = [s for s in summaries if s.referral_id == referral.referral_id]
    latest, earlier = latest_sections(mine)
    # Indicators and the chronology come from the answers shown, never superseded ones.
    shown = {(a.agency, f.lookup_id, f.record_id, f.category)
             for a in latest for _, items in a.facts_by_category for f in items}
    facts = [f for f in disclosed_facts(mine)
             if (f.agency, f.lookup_id, f.record_id, f.category) in shown]
    today = now.astimezone(calendar.tz).date()
    dobs = {s.subject_id: d for s in referral.subjects
            if (d := parse_day(s.identifiers.get("date_of_birth", ""))) is not None}
    indicators = find_indicators(facts, IndicatorContext(as_of=today, dates_of_birth=dobs))
    csc_facts = [f for f in facts if f.agency == Agency.CHILDRENS_SOCIAL_CARE]
    return Report(
        referral=referral,
        generated_at=now,
        timescale=_timescale(referral, now, calendar),
        known_to_csc=tuple(known_to_csc(csc_facts, today, csc_window_days)),
        lookups=tuple(LookupView(s.lookup_id, s.rag, s.purpose, s.statutory_gateway,
                                 s.generated_at, s.due_at, s.broker_id) for s in mine),
        agencies=latest,
        earlier=earlier,
        indicators=tuple(indicators),
        chronology=tuple(merged_chronology(facts, indicators)),
        deletions=tuple(d for d in deletions if d.referral_id == referral.referral_id),
    )


def _timescale(referral: Referral, now: datetime, calendar: WorkingCalendar) -> TimescaleView:
    due = referral.due_at(calendar)
    decision = referral.decision
    if referral.status == ReferralStatus.DECIDED and decision is not None:
        state = "met" if decision.at <= due else "missed"
    elif referral.status == ReferralStatus.CLOSED:
        state = "closed"
    else:
        state = timescale_state(due, now, calendar)
    return TimescaleView(referral.rag.value, due, state)


_AGENCY_ORDER = {agency.value: i for i, agency in enumerate(
    (Agency.CHILDRENS_SOCIAL_CARE, Agency.POLICE, Agency.HEALTH, Agency.EDUCATION,
     Agency.HOUSING))}


def _agency_order(result: mash_pb2.AgencyResult) -> tuple[int, str]:
    return (_AGENCY_ORDER.get(result.agency, len(_AGENCY_ORDER)), result.agency)


def _category_order(agency: str) -> dict[str, int]:
    try:
        categories = AGENCY_CATEGORIES[Agency(agency)]
    except ValueError:
        return {}
    return {c.value: i for i, c in enumerate(categories)}


def _section(summary: mash_pb2.ReferralSummary, result: mash_pb2.AgencyResult) -> AgencySection:
    by_category: dict[str, list[FactView]] = {}
    # Facts are shown only from a disclosed part: a possible match may not be this
    # person, and a rejected part failed verification -- neither is shown (fail closed).
    shown = result.subjects if result.status == AgencyStatus.DISCLOSED else []
    for subject in shown:
        for fact in subject.facts:
            by_category.setdefault(fact.category, []).append(FactView(
                subject.subject_id, fact.record_id, fact.category, fact.occurred_on,
                fact.summary, dict(sorted(fact.attributes.items())), summary.lookup_id))
    order = _category_order(result.agency)
    categories = sorted(by_category, key=lambda c: (order.get(c, len(order)), c))
    return AgencySection(
        agency=result.agency, lookup_id=summary.lookup_id, lookup_rag=summary.rag,
        status=result.status, decision=result.decision,
        reasons=tuple((r.code, r.text) for r in result.reasons),
        matches=tuple(SubjectMatch(s.subject_id, s.match_band, s.match_score, s.confirm_hint,
                                   tuple(s.invalid_identifiers), tuple(s.withheld_categories))
                      for s in result.subjects),
        facts_by_category=tuple(
            (c, tuple(sorted(by_category[c], key=lambda f: f.occurred_on, reverse=True)))
            for c in categories),
        signer_key_id=result.signer_key_id, agreement_id=result.agreement_id,
        agreement_version=result.agreement_version, latency_ms=result.latency_ms,
        deleted_under_retention=any(r.code == RETENTION_DELETED for r in result.reasons),
    )


def latest_sections(summaries: Sequence[mash_pb2.ReferralSummary]
                    ) -> tuple[tuple[AgencySection, ...], tuple[AgencySection, ...]]:
    """(each agency's latest answer, every other part), in agency order.

    The latest block is the agency's newest answer (disclosed, not known,
    possible match), or its newest part when it never answered; a newer part
    that is not an answer is kept as its `latest_attempt`. Where that lookup
    was not asked about every category or subject -- a re-ask after re-rating
    asks only for what became newly permitted -- each subject's match and each
    category's facts come from the newest answer that covered them, and
    `from_lookups` names those lookups.
    """
    per_agency: dict[str, list[tuple[mash_pb2.ReferralSummary, mash_pb2.AgencyResult]]] = {}
    for summary in reversed(summaries):  # newest first
        for result in summary.agencies:
            per_agency.setdefault(result.agency, []).append((summary, result))
    latest: list[AgencySection] = []
    earlier: list[AgencySection] = []
    for agency in sorted(per_agency, key=lambda a: _agency_order(
            mash_pb2.AgencyResult(agency=a))):
        parts = per_agency[agency]
        sections = [_section(s, r) for s, r in parts]
        results = [r for _, r in parts]
        answered = [i for i, r in enumerate(results) if r.status in ANSWERED]
        # The block is the newest answer; a newer part that is not one is shown beside it.
        first = answered[0] if answered else 0
        block = _merged(sections[first:], results[first:])
        if first:
            block = replace(block, latest_attempt=sections[0])
        latest.append(block)
        earlier += [sec for i, sec in enumerate(sections) if i != first]
    return tuple(latest), tuple(earlier)


def _covered(result: mash_pb2.AgencyResult) -> set[str]:
    """The categories `result` answered for (empty unless it is an answer)."""
    if result.status not in ANSWERED:
        return set()
    named = {c for s in result.subjects for c in s.permitted_categories} | {
        f.category for s in result.subjects for f in s.facts}
    # An answer that names no categories answered for all of them.
    return named or set(_category_order(result.agency))


def _merged(sections: Sequence[AgencySection],
            results: Sequence[mash_pb2.AgencyResult]) -> AgencySection:
    newest = sections[0]
    matches = {m.subject_id: m for m in newest.matches}
    facts = dict(newest.facts_by_category)
    covered = _covered(results[0])
    used = [newest.lookup_id]
    for section, result in zip(sections[1:], results[1:], strict=True):
        if result.status not in ANSWERED:
            continue
        took = False
        for m in section.matches:
            if m.subject_id not in matches:
                matches[m.subject_id] = m
                took = True
        for category, items in section.facts_by_category:
            if category not in covered and category not in facts:
                facts[category] = items
                took = True
        covered |= _covered(result)
        if took and section.lookup_id not in used:
            used.append(section.lookup_id)
    order = _category_order(newest.agency)
    return replace(newest, matches=tuple(matches.values()),
                   facts_by_category=tuple(sorted(
                       facts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))),
                   from_lookups=tuple(used))
