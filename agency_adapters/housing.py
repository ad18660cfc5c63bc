"""Housing: how the council's housing system holds tenants and household members.

Social-rent tenants and their households, and anyone who applied as homeless.
Children are listed as household members, sometimes without a date of birth.
Categories: tenancy, household members, arrears and eviction, anti-social
behaviour, homelessness and temporary accommodation.
"""

from __future__ import annotations

from datetime import timedelta

from agency_adapters.backend import Record
from agency_adapters.seed.context import RecordContext
from agency_adapters.seed.population import Citizen, Household
from agency_adapters.seed.project import QualityProfile
from agency_adapters.seed.stories import arrears, domestic_incidents, moved_on
from mash.vocab import Agency, Category

AGENCY = Agency.HOUSING
PERSON_PREFIX = "HSG-"
RECORD_PREFIX = "HOU"
QUALITY = QualityProfile(nhs_held=0.0, nickname=0.1, typo_given=0.03, typo_family=0.03,
                         dob_swap=0.02, dob_slip=0.02, dob_missing=0.06, stale_address=0.1,
                         previous_surname=0.1, barrel_dropped=0.3, middle_names_kept=0.1,
                         other_names_kept=0.2, sex_missing=0.05)
_HOMES = ("1-bed flat", "2-bed flat", "2-bed house", "3-bed house", "4-bed house")


def _relationship(c: Citizen, lead: Citizen) -> str:
    if c is lead:
        return "tenant"
    if c.role == "parent":
        return "joint tenant"
    return "child" if c.role == "child" else "other adult"


def records(ctx: RecordContext, c: Citizen, h: Household, person_id: str) -> list[Record]:
    """The housing records of citizen `c` (empty: not known to housing)."""
    rng = ctx.rng
    homeless = "homelessness" in h.flags
    if h.tenure != "social_rent" and not homeless:
        return []
    members = ctx.members(h)
    adults = [m for m in members if m.role != "child"]
    lead = adults[0] if adults else members[0]
    if c.role == "child" and rng.random() < 0.1:
        return []  # not every child is listed
    out: list[Record] = []
    rel = _relationship(c, lead)
    story = ctx.story(h, "tenancy")
    since = ctx.as_of - timedelta(days=story.randint(90, 15 * 365))
    if homeless:
        moved = moved_on(ctx, h)
        reason = ("fleeing domestic abuse" if domestic_incidents(ctx, h) else
                  story.choice(("end of private tenancy", "parental eviction",
                                "relationship breakdown", "overcrowding")))
        if c is lead or c.role == "parent":
            duty = story.choice(("prevention duty", "relief duty", "main housing duty accepted"))
            out.append(ctx.record(person_id, Category.HOMELESSNESS_AND_TEMPORARY_ACCOMMODATION,
                                  moved, f"Homelessness application: {reason}; {duty}",
                                  {"reason": reason, "duty": duty}, code="/HL"))
        out.append(ctx.record(person_id, Category.HOMELESSNESS_AND_TEMPORARY_ACCOMMODATION,
                              moved + timedelta(days=story.randint(0, 20)),
                              "In temporary accommodation (hostel/B&B) since this date",
                              {"accommodation": "temporary"}, code="/TA"))
    else:
        if c.role != "child":
            kind = story.choice(("secure tenancy", "secure tenancy", "introductory tenancy"))
            home = _HOMES[min(len(_HOMES) - 1, max(0, len(members) - 1 + story.randint(-1, 0)))]
            out.append(ctx.record(person_id, Category.TENANCY, since,
                                  f"{kind.capitalize()} ({rel}), {home}",
                                  {"tenancy": kind, "property": home, "role": rel}, code="/TEN"))
        listed = max(since, c.date_of_birth + timedelta(days=rng.randint(14, 200)))
        out.append(ctx.record(person_id, Category.HOUSEHOLD_MEMBERS, min(listed, ctx.as_of),
                              f"Listed on tenancy as {rel}; household of {len(members)}",
                              {"relationship": rel, "household_size": str(len(members))},
                              code="/HM"))
        if c is lead and (debt := arrears(ctx, h)) is not None:
            amount, stage, when = debt
            out.append(ctx.record(person_id, Category.ARREARS_AND_EVICTION, when,
                                  f"Rent arrears \u00a3{amount:,}; {stage}",
                                  {"arrears_gbp": str(amount), "stage": stage}, code="/ARR"))
    if "antisocial_behaviour" in h.flags and (c.role != "child" or ctx.age(c) >= 13) \
            and rng.random() < 0.6:
        what = rng.choice(("noise nuisance", "verbal abuse towards neighbours",
                           "drug-related visitors to the property", "damage to communal areas"))
        action = rng.choice(("warning letter", "acceptable behaviour contract",
                             "community protection warning", "injunction applied for"))
        out.append(ctx.record(person_id, Category.ANTISOCIAL_BEHAVIOUR, ctx.day_within(2),
                              f"ASB complaint: {what}; {action}",
                              {"complaint": what, "action": action}, code="/ASB"))
    return out
