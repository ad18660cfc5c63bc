"""Risk indicators drawn from disclosed facts, each traceable to its source record.

An indicator is never a judgement about a family: it points a team manager at
one disclosed record (agency + record id) that practice guidance says to look
at -- a high-risk domestic-abuse incident, a missing episode, an injury to a
baby. Only agency parts with status `disclosed` count: a possible match is not
yet about this person, and a withheld part has nothing to draw from.

`RULES` is one table. Agency attribute names differ between systems, so each
rule names the attribute spellings it accepts (`ATTRIBUTE_NAMES`); adjust the
table, not the code, when an adapter's minimised attributes change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from mash.v1 import mash_pb2
from mash.vocab import AgencyStatus, Category

#: Accepted spellings of each attribute the rules read.
ATTRIBUTE_NAMES: Mapping[str, tuple[str, ...]] = {
    "dash_risk": ("dash_risk", "dash_risk_level", "dash_level", "risk_level"),
    "attendance_pct": ("attendance_pct", "attendance_percent", "attendance_percentage",
                       "attendance"),
    "age_months": ("age_months", "age_in_months"),
    "age_years": ("age_years", "age", "age_at_attendance"),
    "stage": ("stage", "status", "action", "outcome", "type"),
    "case_status": ("case_status", "status"),
    "closed_on": ("closed_on", "closure_date", "case_closed_on", "closed"),
    "team": ("allocated_team", "team", "worker_team"),
}

#: Housing stages that mean a family is losing (or has lost) its home.
EVICTION_STAGES = frozenset({
    "eviction", "evicted", "notice_seeking_possession", "nosp", "section_21", "section_8",
    "possession_order", "possession_claim", "warrant", "bailiff", "eviction_warrant",
})

#: Words in a free-text stage or summary that mean eviction or possession proceedings.
EVICTION_WORDS = ("evict", "possession", "bailiff")

#: Days that count as "in the last 12 months".
TWELVE_MONTHS = 365


@dataclass(frozen=True)
class SourcedFact:
    """A disclosed fact with where it came from."""

    agency: str
    lookup_id: str
    subject_id: str
    record_id: str
    category: str
    occurred_on: date | None
    summary: str
    attributes: Mapping[str, str]

    def attribute(self, name: str) -> str | None:
        """The value of attribute `name` under any of its accepted spellings."""
        for key in ATTRIBUTE_NAMES.get(name, (name,)):
            value = self.attributes.get(key)
            if value not in (None, ""):
                return value
        return None


@dataclass(frozen=True)
class IndicatorContext:
    """What a rule may use besides the fact: the date it is judged on, the subjects' DOBs."""

    as_of: date
    dates_of_birth: Mapping[str, date]


@dataclass(frozen=True)
class Indicator:
    """One risk indicator, pointing to the disclosed record it came from."""

    code: str
    title: str
    agency: str
    record_id: str
    subject_id: str
    category: str
    occurred_on: str
    detail: str
    lookup_id: str


#: A rule's test: a detail line if the fact is an indicator, else None.
Test = Callable[[SourcedFact, IndicatorContext], "str | None"]


@dataclass(frozen=True)
class IndicatorRule:
    """One kind of indicator: the categories it reads, its test, its recency window."""

    code: str
    title: str
    categories: frozenset[Category]
    test: Test
    #: Only facts within this many days of `as_of` count (undated facts then never do).
    within_days: int | None = TWELVE_MONTHS


# ---------------------------------------------------------------- tests used by the table

def any_fact(detail: str) -> Test:
    """A test that every (recent) fact of the rule's categories passes."""
    return lambda fact, ctx: detail


def high_dash_risk(fact: SourcedFact, ctx: IndicatorContext) -> str | None:
    """DASH risk assessed as high."""
    risk = (fact.attribute("dash_risk") or "").strip().lower()
    return "DASH risk: high" if risk == "high" else None


def persistent_absence(fact: SourcedFact, ctx: IndicatorContext) -> str | None:
    """Attendance under 90% (the DfE persistent-absence threshold)."""
    value = _number(fact.attribute("attendance_pct"))
    if value is None:
        return None
    pct = value * 100 if value <= 1 else value  # a fraction (0.85) or a percentage (85)
    return f"attendance {pct:.1f}% (under 90%)" if pct < 90 else None


def child_under_two(fact: SourcedFact, ctx: IndicatorContext) -> str | None:
    """The subject was under 2 at the attendance (from an age attribute or the referral's DOB)."""
    months = _number(fact.attribute("age_months"))
    if months is None:
        years = _number(fact.attribute("age_years"))
        months = years * 12 if years is not None else None
    dob = ctx.dates_of_birth.get(fact.subject_id)
    if months is None and dob is not None and fact.occurred_on is not None:
        months = _months_between(dob, fact.occurred_on)
    if months is None or months < 0:
        return None
    return f"aged {int(months)} months at attendance" if months < 24 else None


def eviction(fact: SourcedFact, ctx: IndicatorContext) -> str | None:
    """A possession or eviction stage (a known stage code, or words that say so)."""
    raw = (fact.attribute("stage") or "").strip()
    stage = raw.lower().replace(" ", "_").replace("-", "_")
    if stage in EVICTION_STAGES or any(w in stage for w in EVICTION_WORDS):
        return f"housing: {raw}"
    if any(w in fact.summary.lower() for w in EVICTION_WORDS):
        return "housing: eviction or possession proceedings"
    return None


#: The indicator table. Order is the order they are shown in.
RULES: tuple[IndicatorRule, ...] = (
    IndicatorRule("domestic_abuse_high_risk",
                  "Domestic-abuse incident with high DASH risk in the last 12 months",
                  frozenset({Category.DOMESTIC_ABUSE_INCIDENTS}), high_dash_risk),
    IndicatorRule("marac_case", "MARAC case in the last 12 months",
                  frozenset({Category.MARAC_CASES}), any_fact("heard at MARAC")),
    IndicatorRule("missing_episode", "Missing episode in the last 12 months",
                  frozenset({Category.MISSING_EPISODES}), any_fact("reported missing")),
    IndicatorRule("ed_attendance_under_2",
                  "Emergency-department attendance of a child under 2",
                  frozenset({Category.EMERGENCY_ATTENDANCES}), child_under_two),
    IndicatorRule("was_not_brought", "Health appointment the child was not brought to",
                  frozenset({Category.WAS_NOT_BROUGHT}), any_fact("was not brought")),
    IndicatorRule("persistent_absence", "Persistent absence from school (attendance under 90%)",
                  frozenset({Category.ATTENDANCE}), persistent_absence),
    IndicatorRule("exclusion", "Exclusion or suspension from school in the last 12 months",
                  frozenset({Category.EXCLUSIONS}), any_fact("excluded or suspended")),
    IndicatorRule("dsl_concern", "Designated safeguarding lead concern in the last 12 months",
                  frozenset({Category.DSL_CONCERNS}), any_fact("DSL concern recorded")),
    IndicatorRule("eviction", "Eviction or possession proceedings",
                  frozenset({Category.ARREARS_AND_EVICTION}), eviction),
    IndicatorRule("temporary_accommodation", "Homelessness or temporary accommodation",
                  frozenset({Category.HOMELESSNESS_AND_TEMPORARY_ACCOMMODATION}),
                  any_fact("homeless or in temporary accommodation")),
    IndicatorRule("substance_misuse", "Substance-misuse service involvement",
                  frozenset({Category.SUBSTANCE_MISUSE}), any_fact("substance-misuse service")),
)


# ---------------------------------------------------------------- drawing indicators

def disclosed_facts(summaries: Iterable[mash_pb2.ReferralSummary]) -> list[SourcedFact]:
    """Every fact from `disclosed` agency parts, once per (agency, subject, record)."""
    seen: set[tuple[str, str, str]] = set()
    out: list[SourcedFact] = []
    for summary in summaries:
        for result in summary.agencies:
            if result.status != AgencyStatus.DISCLOSED:
                continue
            for subject in result.subjects:
                for fact in subject.facts:
                    key = (result.agency, subject.subject_id, fact.record_id)
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(SourcedFact(
                        agency=result.agency, lookup_id=summary.lookup_id,
                        subject_id=subject.subject_id, record_id=fact.record_id,
                        category=fact.category, occurred_on=parse_day(fact.occurred_on),
                        summary=fact.summary, attributes=dict(fact.attributes)))
    return out


def find_indicators(facts: Sequence[SourcedFact], context: IndicatorContext,
                    rules: Sequence[IndicatorRule] = RULES) -> list[Indicator]:
    """The indicators among `facts`, in rule order, newest first within a rule."""
    found: list[Indicator] = []
    for rule in rules:
        matches = []
        for fact in facts:
            if fact.category not in rule.categories or not _recent(fact, rule, context):
                continue
            detail = rule.test(fact, context)
            if detail is not None:
                matches.append(Indicator(
                    code=rule.code, title=rule.title, agency=fact.agency,
                    record_id=fact.record_id, subject_id=fact.subject_id,
                    category=fact.category,
                    occurred_on=fact.occurred_on.isoformat() if fact.occurred_on else "",
                    detail=detail, lookup_id=fact.lookup_id))
        matches.sort(key=lambda i: i.occurred_on, reverse=True)
        found.extend(matches)
    return found


# ---------------------------------------------------------------- known to children's social care

#: Days after closure for which a case still counts as "known" (configurable per LA).
CSC_RECENT_CLOSURE_DAYS = 28


@dataclass(frozen=True)
class KnownToCsc:
    """The child is known to children's social care: route to the allocated worker's team."""

    subject_id: str
    record_id: str
    team: str
    case_status: str
    detail: str


def known_to_csc(facts: Sequence[SourcedFact], as_of: date,
                 window_days: int = CSC_RECENT_CLOSURE_DAYS) -> list[KnownToCsc]:
    """Open CSC cases, and cases closed at most `window_days` days before `as_of`.

    Only the team is taken from the case (never its content). A closed case
    without a closure date is taken as closed on the fact's date.
    """
    known = []
    for fact in facts:
        if fact.category != Category.CSC_CASE_STATUS:
            continue
        status = (fact.attribute("case_status") or "").strip().lower()
        team = fact.attribute("team") or "allocated team not given"
        if status == "open":
            known.append(KnownToCsc(fact.subject_id, fact.record_id, team, "open",
                                    "open case"))
            continue
        if status != "closed":
            continue
        closed_on = parse_day(fact.attribute("closed_on") or "") or fact.occurred_on
        if closed_on is None:
            continue
        days = (as_of - closed_on).days
        if 0 <= days <= window_days:
            known.append(KnownToCsc(fact.subject_id, fact.record_id, team, "closed",
                                    f"closed {days} days ago"))
    return known


# ---------------------------------------------------------------- helpers

def parse_day(text: str) -> date | None:
    """A `YYYY-MM-DD` date, or None if absent or malformed."""
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _recent(fact: SourcedFact, rule: IndicatorRule, context: IndicatorContext) -> bool:
    if rule.within_days is None:
        return True
    if fact.occurred_on is None:
        return False
    return fact.occurred_on >= context.as_of - timedelta(days=rule.within_days)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip().rstrip("%"))
    except ValueError:
        return None


def _months_between(born: date, on: date) -> int:
    months = (on.year - born.year) * 12 + (on.month - born.month)
    return months - 1 if on.day < born.day else months
