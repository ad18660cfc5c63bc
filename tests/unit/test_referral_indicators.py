"""Risk indicators from disclosed facts, and the known-to-CSC rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from broker.indicators import (
    RULES,
    IndicatorContext,
    SourcedFact,
    disclosed_facts,
    find_indicators,
    known_to_csc,
)
from mash.v1 import mash_pb2
from tests.referral_factories import agency, fact, full_summary, sparse_summary, subject

pytestmark = pytest.mark.clock_sensitive

AS_OF = date(2026, 11, 24)
CONTEXT = IndicatorContext(as_of=AS_OF, dates_of_birth={"child-1": date(2025, 6, 1)})


def sourced(category: str, occurred_on: str = "2026-10-01", summary: str = "",
            subject_id: str = "child-1", **attributes: str) -> SourcedFact:
    return SourcedFact("agency", "LK-1", subject_id, "R-1", category,
                       date.fromisoformat(occurred_on) if occurred_on else None, summary,
                       attributes)


def codes(*facts: SourcedFact, context: IndicatorContext = CONTEXT) -> list[str]:
    return [i.code for i in find_indicators(list(facts), context)]


def test_full_summary_indicators_each_point_to_a_disclosed_record() -> None:
    summary = full_summary()
    indicators = find_indicators(disclosed_facts([summary]), CONTEXT)
    assert [(i.code, i.agency, i.record_id) for i in indicators] == [
        ("domestic_abuse_high_risk", "police", "PN-1001"),
        ("missing_episode", "police", "PN-1010"),
        ("ed_attendance_under_2", "health", "ED-55"),
        ("persistent_absence", "education", "ED-ATT-3"),
        ("eviction", "housing", "HS-9"),
    ]
    disclosed = {(a.agency, s.subject_id, f.record_id)
                 for a in summary.agencies if a.status == "disclosed"
                 for s in a.subjects for f in s.facts}
    for indicator in indicators:
        assert (indicator.agency, indicator.subject_id, indicator.record_id) in disclosed


def test_old_high_risk_incident_and_standard_risk_are_not_indicators() -> None:
    assert codes(sourced("domestic_abuse_incidents", "2024-03-02", dash_risk="high")) == []
    assert codes(sourced("domestic_abuse_incidents", "2026-10-01", dash_risk="standard")) == []
    assert codes(sourced("domestic_abuse_incidents", "2026-10-01", dash_risk="High")) == [
        "domestic_abuse_high_risk"]


def test_twelve_month_boundary() -> None:
    edge = (AS_OF - timedelta(days=365)).isoformat()
    past = (AS_OF - timedelta(days=366)).isoformat()
    assert codes(sourced("missing_episodes", edge)) == ["missing_episode"]
    assert codes(sourced("missing_episodes", past)) == []


def test_undated_fact_never_meets_a_recency_rule() -> None:
    assert codes(sourced("missing_episodes", "")) == []


def test_attribute_spellings_are_a_table() -> None:
    assert codes(sourced("domestic_abuse_incidents", dash_risk_level="high")) == [
        "domestic_abuse_high_risk"]
    assert codes(sourced("attendance", attendance_percent="88%")) == ["persistent_absence"]
    assert codes(sourced("attendance", attendance_pct="0.85")) == ["persistent_absence"]
    assert codes(sourced("attendance", attendance_pct="90")) == []
    assert codes(sourced("attendance", attendance_pct="n/a")) == []


@pytest.mark.parametrize("attrs, expected", [
    ({"age_months": "23"}, ["ed_attendance_under_2"]),
    ({"age_months": "24"}, []),
    ({"age_years": "1"}, ["ed_attendance_under_2"]),
    ({"age_years": "4"}, []),
])
def test_ed_attendance_age_from_attributes(attrs: dict[str, str], expected: list[str]) -> None:
    assert codes(sourced("emergency_attendances", subject_id="x", **attrs)) == expected


def test_ed_attendance_age_from_referral_dob() -> None:
    # Born 2025-06-01: 1 year 4 months at 2026-10-01; 2 years at 2027-06-01.
    assert codes(sourced("emergency_attendances", "2026-10-01")) == ["ed_attendance_under_2"]
    later = IndicatorContext(as_of=date(2027, 7, 1), dates_of_birth=CONTEXT.dates_of_birth)
    assert codes(sourced("emergency_attendances", "2027-06-01"), context=later) == []
    assert codes(sourced("emergency_attendances", "2027-05-31"), context=later) == [
        "ed_attendance_under_2"]


def test_ed_attendance_with_unknown_age_is_not_guessed() -> None:
    assert codes(sourced("emergency_attendances", subject_id="parent_carer-1")) == []


@pytest.mark.parametrize("attrs, summary, expected", [
    ({"stage": "notice_seeking_possession"}, "", ["eviction"]),
    ({"stage": "Possession order"}, "", ["eviction"]),
    ({"stage": "section_21"}, "", ["eviction"]),
    ({}, "Evicted from council tenancy", ["eviction"]),
    ({"stage": "arrears"}, "Rent arrears of 4 weeks", []),
    # free-text stages as the demo housing system writes them
    ({"stage": "Notice of Seeking Possession served"}, "", ["eviction"]),
    ({"stage": "eviction date set"}, "", ["eviction"]),
    ({"stage": "arrears letter sent"}, "Rent arrears £450; arrears letter sent", []),
])
def test_eviction(attrs: dict[str, str], summary: str, expected: list[str]) -> None:
    assert codes(sourced("arrears_and_eviction", summary=summary, **attrs)) == expected


def test_any_fact_rules() -> None:
    for category, code in [("homelessness_and_temporary_accommodation", "temporary_accommodation"),
                           ("marac_cases", "marac_case"), ("was_not_brought", "was_not_brought"),
                           ("exclusions", "exclusion"), ("dsl_concerns", "dsl_concern"),
                           ("substance_misuse", "substance_misuse")]:
        assert codes(sourced(category)) == [code]


def test_marac_detail_gives_its_stage() -> None:
    [listed] = find_indicators([sourced("marac_cases", status="listed")], CONTEXT)
    assert listed.detail == "MARAC case listed"
    [plain] = find_indicators([sourced("marac_cases")], CONTEXT)
    assert plain.detail == "MARAC case"


def test_non_indicator_categories() -> None:
    assert codes(sourced("gp_registration"), sourced("tenancy"), sourced("school_enrolment")) == []


def test_rule_codes_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)


def test_only_disclosed_parts_count() -> None:
    possible = agency("police", "possible_match", subject(
        "child-1", fact("PN-9", "missing_episodes", "2026-10-01", "Missing"), band="possible"))
    summary = mash_pb2.ReferralSummary(referral_id="R", lookup_id="L", agencies=[possible])
    assert disclosed_facts([summary]) == []
    assert disclosed_facts([sparse_summary()]) == []


def test_facts_deduplicated_across_lookups() -> None:
    facts = disclosed_facts([full_summary(lookup_id="LK-1"), full_summary(lookup_id="LK-2")])
    assert len(facts) == len(disclosed_facts([full_summary()]))
    assert {f.lookup_id for f in facts} == {"LK-1"}


# ---------------------------------------------------------------- known to CSC

def csc_fact(status: str, closed_days_ago: int | None = None) -> SourcedFact:
    attrs = {"case_status": status, "allocated_team": "Assessment Team 2"}
    if closed_days_ago is not None:
        attrs["closed_on"] = (AS_OF - timedelta(days=closed_days_ago)).isoformat()
    return SourcedFact("childrens_social_care", "LK-1", "child-1", "CSC-1", "csc_case_status",
                       date(2026, 1, 5), "case", attrs)


def test_open_case_is_known_with_team_only() -> None:
    [known] = known_to_csc([csc_fact("open")], AS_OF)
    assert known.team == "Assessment Team 2"
    assert known.case_status == "open"


@pytest.mark.parametrize("days, is_known", [(27, True), (28, True), (29, False)])
def test_closed_case_known_for_28_days(days: int, is_known: bool) -> None:
    assert bool(known_to_csc([csc_fact("closed", days)], AS_OF)) is is_known


def test_closure_window_configurable() -> None:
    assert known_to_csc([csc_fact("closed", 40)], AS_OF, window_days=42)
    assert not known_to_csc([csc_fact("closed", 10)], AS_OF, window_days=7)


def test_unknown_case_status_is_not_known() -> None:
    assert known_to_csc([csc_fact("")], AS_OF) == []
