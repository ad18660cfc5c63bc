"""Children's social care: the local authority's own case management system (children only).

One category: case status (open or closed, the date it closed, the allocated
team -- never the worker's name).
"""

from __future__ import annotations

from datetime import timedelta

from agency_adapters.backend import Record
from agency_adapters.seed.context import RecordContext
from agency_adapters.seed.population import Citizen, Household
from agency_adapters.seed.project import QualityProfile
from mash.vocab import Agency, Category

AGENCY = Agency.CHILDRENS_SOCIAL_CARE
PERSON_PREFIX = "CSC-"
RECORD_PREFIX = "CSC"
QUALITY = QualityProfile(nhs_held=0.8, upn_held=0.5, nickname=0.05, typo_given=0.01,
                         typo_family=0.01, dob_swap=0.005, dob_slip=0.005, stale_address=0.35,
                         barrel_dropped=0.1, middle_names_kept=0.8, other_names_kept=0.5)
_TEAMS = ("Assessment Team North", "Assessment Team South", "Assessment Team East",
          "Children in Need Team West", "Child Protection Team Central",
          "Children with Disabilities Team", "Family Support Team Hillsborough")
#: Open cases sit with the team that holds that kind of plan.
_TEAM_FOR_PLAN = {
    "child in need plan": "Children in Need Team West",
    "child protection plan": "Child Protection Team Central",
    "assessment in progress": "Assessment Team North",
    "section 47 enquiry in progress": "Assessment Team South",
}
_PLANS = ("child in need plan", "child protection plan (neglect)",
          "child protection plan (emotional abuse)", "child protection plan (physical abuse)",
          "assessment in progress (section 17)", "section 47 enquiry in progress")


def records(ctx: RecordContext, c: Citizen, h: Household, person_id: str) -> list[Record]:
    """The case-status record of child `c` (empty: not known to children's social care)."""
    rng = ctx.rng
    if c.role != "child":
        return []
    concern = bool({"domestic_abuse", "neglect", "substance_misuse"} & h.flags)
    if not ((concern and rng.random() < 0.65) or rng.random() < 0.02):
        return []
    story = ctx.story(h, "csc")
    opened = max(c.date_of_birth, ctx.as_of - timedelta(days=story.randint(30, 4 * 365)))
    if story.random() < 0.4:
        plan = story.choice(_PLANS)
        team = _TEAM_FOR_PLAN[plan.split(" (")[0]]
        return [ctx.record(person_id, Category.CSC_CASE_STATUS, opened,
                           f"Case open: {plan}; allocated to {team}",
                           {"status": "open", "plan": plan, "team": team}, code="/CASE")]
    team = story.choice(_TEAMS)
    closed = min(ctx.as_of, opened + timedelta(days=story.randint(20, 400)))
    outcome = story.choice(("no further action", "stepped down to early help",
                            "child in need plan ended", "child protection plan ended"))
    return [ctx.record(person_id, Category.CSC_CASE_STATUS, opened,
                       f"Case closed {closed.isoformat()}: {outcome}; last allocated to {team}",
                       {"status": "closed", "closed_on": closed.isoformat(), "team": team,
                        "outcome": outcome}, code="/CASE")]
