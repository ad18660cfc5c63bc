"""Police: how the force's records system holds people, and the records it generates.

Categories: domestic-abuse incidents (with DASH risk), missing episodes, arrests
and charges, MARAC cases, police intelligence, covert sources (rare, sealed).
Summaries are minimised: one line, no third-party names.
"""

from __future__ import annotations

from datetime import timedelta

from agency_adapters.backend import Record
from agency_adapters.seed.context import RecordContext
from agency_adapters.seed.population import Citizen, Household
from agency_adapters.seed.project import QualityProfile
from agency_adapters.seed.stories import domestic_incidents, victim_and_suspect
from mash.vocab import Agency, Category

AGENCY = Agency.POLICE
PERSON_PREFIX = "PER-"
RECORD_PREFIX = "OCC"
#: Police records are keyed from what people say at the roadside: aliases, nicknames, slips.
QUALITY = QualityProfile(nhs_held=0.08, nickname=0.15, typo_given=0.03, typo_family=0.04,
                         dob_swap=0.02, dob_slip=0.02, dob_missing=0.03, stale_address=0.5,
                         previous_surname=0.1, barrel_dropped=0.3, middle_names_kept=0.3,
                         other_names_kept=0.6, sex_missing=0.0)

_OFFENCES = (
    ("shoplifting", "community resolution"),
    ("possession of cannabis", "cannabis warning"),
    ("criminal damage", "released under investigation"),
    ("drink driving", "charged; disqualified 12 months"),
    ("assault by beating", "no further action"),
    ("possession with intent to supply class A", "charged; remanded"),
    ("public order offence", "fixed penalty notice"),
    ("theft from motor vehicle", "charged"),
)
_INTEL = (
    "association with county lines drug supply",
    "possible child criminal exploitation",
    "frequenting address linked to drug supply",
    "concern for welfare of children at address",
    "carrying a knife (unconfirmed)",
    "association with older males of concern",
)


def records(ctx: RecordContext, c: Citizen, h: Household, person_id: str) -> list[Record]:
    """The police records of citizen `c` (empty: not known to police)."""
    rng = ctx.rng
    out: list[Record] = []
    age = ctx.age(c)
    incidents = domestic_incidents(ctx, h)
    victim, suspect = victim_and_suspect(ctx, h)
    if incidents:
        if c is victim:
            role = "victim"
        elif c is suspect:
            role = "suspect"
        elif c.role == "child":
            role = "child present"
        else:
            role = "other adult present"
        for inc in incidents:
            if role == "child present" and not inc.children_present:
                continue
            outcome = ("suspect arrested" if inc.arrest else
                       rng.choice(("no further action", "words of advice",
                                   "victim did not support prosecution")))
            phrase = {"victim": "recorded as victim", "suspect": "recorded as suspect",
                      "child present": "child present",
                      "other adult present": "adult present"}[role]
            out.append(ctx.record(
                person_id, Category.DOMESTIC_ABUSE_INCIDENTS, inc.occurred_on,
                f"Domestic abuse incident, DASH risk: {inc.dash_risk}, {phrase}",
                {"dash_risk": inc.dash_risk, "involvement": role, "outcome": outcome,
                 "children_present": "yes" if inc.children_present else "no"}, code="/DA"))
            if role == "suspect" and inc.arrest:
                out.append(ctx.record(
                    person_id, Category.ARRESTS_AND_CHARGES, inc.occurred_on,
                    "Arrested: assault occasioning actual bodily harm (domestic); "
                    + rng.choice(("charged, bail conditions not to contact victim",
                                  "released under investigation", "no further action")),
                    {"offence": "ABH (domestic)"}, code="/AR"))
        high = [i for i in incidents if i.dash_risk == "high"]
        if high:
            # A high DASH score means a MARAC referral; the case is heard at the next
            # fortnightly-to-monthly meeting, so a very recent one is still listed.
            referred = high[-1].occurred_on
            heard = referred + timedelta(days=ctx.story(h, "marac").randint(10, 30))
            what = {"victim": "high-risk victim",
                    "suspect": "named as perpetrator",
                    "child present": "child in household",
                    "other adult present": "adult in household"}[role]
            if heard <= ctx.as_of:
                outcome = "; safety plan agreed, IDVA allocated" if role == "victim" else ""
                out.append(ctx.record(person_id, Category.MARAC_CASES, heard,
                                      f"MARAC case heard: {what}{outcome}",
                                      {"marac_role": role, "status": "heard"}, code="/MA"))
            else:
                out.append(ctx.record(person_id, Category.MARAC_CASES, referred,
                                      f"MARAC referral made: {what}; listed for "
                                      f"{heard.isoformat()}",
                                      {"marac_role": role, "status": "listed",
                                       "listed_for": heard.isoformat()}, code="/MA"))
    if c.role == "child" and 12 <= age <= 17 and (
            ({"neglect", "domestic_abuse", "substance_misuse"} & h.flags and rng.random() < 0.25)
            or rng.random() < 0.01):
        for _ in range(rng.choices((1, 2, 3, 6), weights=(50, 25, 15, 10))[0]):
            hours = rng.choice((3, 6, 9, 14, 20, 28, 40))
            grade = "high" if hours > 24 or rng.random() < 0.2 else "medium"
            found = rng.choice(("found at a friend's address", "returned home of own accord",
                                "found in the city centre", "found out of force area"))
            out.append(ctx.record(
                person_id, Category.MISSING_EPISODES, ctx.day_within(2),
                f"Missing episode, {hours} hours, {found}; risk graded {grade}",
                {"hours": str(hours), "risk": grade,
                 "return_interview": rng.choice(("completed", "offered, declined"))},
                code="/MI"))
        if rng.random() < 0.3:
            topic = rng.choice(_INTEL[:2] + _INTEL[5:])
            out.append(ctx.record(person_id, Category.POLICE_INTELLIGENCE, ctx.day_within(1),
                                  f"Intelligence (graded B2): {topic}",
                                  {"grading": "B2"}, code="/IN"))
    if c.role != "child":
        adult_risk = ({"substance_misuse"} & h.flags and rng.random() < 0.45) or \
            ({"antisocial_behaviour"} & h.flags and rng.random() < 0.3) or rng.random() < 0.025
        if adult_risk:
            offence, outcome = rng.choice(_OFFENCES)
            out.append(ctx.record(person_id, Category.ARRESTS_AND_CHARGES, ctx.day_within(5),
                                  f"Arrested: {offence}; outcome: {outcome}",
                                  {"offence": offence, "outcome": outcome}, code="/AR"))
            if rng.random() < 0.3:
                grade = rng.choice(("B2", "C3", "B3"))
                out.append(ctx.record(person_id, Category.POLICE_INTELLIGENCE, ctx.day_within(2),
                                      f"Intelligence (graded {grade}): {rng.choice(_INTEL)}",
                                      {"grading": grade}, code="/IN"))
        if out and rng.random() < 0.004:
            out.append(ctx.record(person_id, Category.COVERT_SOURCES, ctx.day_within(3),
                                  "Sensitive record held: refer to Force Intelligence Bureau",
                                  {"handling": "sealed"}, code="/CS"))
    return out
