"""The summary report as one frozen value, built from a referral and its lookups' summaries.

Renderers (JSON, text, HTML) only format a `Report`; every judgement --
which facts count, which indicators fire, the timescale state, the order of
the chronology -- is made here once, so the three formats never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
REPORT_VERSION = 1


@dataclass(frozen=True)
class FactView:
    """One disclosed fact as shown in an agency section."""

    subject_id: str
    record_id: str
    category: str
    occurred_on: str
    summary: str
    attributes: Mapping[str, str]


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


def build_report(referral: Referral, summaries: Sequence[mash_pb2.ReferralSummary], *,
                 now: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR,
                 deletions: Sequence[SummaryDeletion] = (),
                 csc_window_days: int = CSC_RECENT_CLOSURE_DAYS) -> Report:
    """The report for `referral` from its lookups' `summaries` (oldest first), at `now`.

    Indicators are judged as of `now`'s date; the known-to-CSC rule likewise.
    Summaries for another referral are ignored (never mixed into this one).
    """
    mine = [s for s in summaries if s.referral_id == referral.referral_id]
    facts = disclosed_facts(mine)
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
        agencies=tuple(_section(s, a) for s in reversed(mine)
                       for a in sorted(s.agencies, key=_agency_order)),
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
                fact.summary, dict(sorted(fact.attributes.items()))))
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
