"""Education: how the local authority's pupil database holds children, and the records generated.

Only school-age children (4-17) are on roll. Schools record preferred names
(nicknames), and sometimes the surname the family uses rather than the legal one.
Categories: school enrolment, attendance, exclusions, SEN/EHCP, DSL concerns.
"""

from __future__ import annotations

from datetime import timedelta

from agency_adapters.backend import Record
from agency_adapters.seed.context import RecordContext
from agency_adapters.seed.population import Citizen, Household
from agency_adapters.seed.project import QualityProfile
from agency_adapters.seed.stories import domestic_incidents
from mash.vocab import Agency, Category

AGENCY = Agency.EDUCATION
PERSON_PREFIX = "PUP-"
RECORD_PREFIX = "EDU"
QUALITY = QualityProfile(nhs_held=0.0, upn_held=0.97, nickname=0.1, typo_given=0.01,
                         typo_family=0.015, dob_swap=0.004, dob_slip=0.004, dob_missing=0.0,
                         stale_address=0.25, barrel_dropped=0.25, middle_names_kept=0.4,
                         other_names_kept=0.1, sex_missing=0.0)
_SEN_NEEDS = ("social, emotional and mental health", "autistic spectrum condition",
              "speech, language and communication", "moderate learning difficulty",
              "specific learning difficulty (dyslexia)")
_DSL_CONCERNS = ("came to school hungry", "disclosed arguments at home", "unexplained bruising",
                 "tired and withdrawn", "repeatedly collected late", "poor hygiene",
                 "comments about an older 'boyfriend'", "upset about a parent's drinking")


def year_group(age: int) -> str:
    """National Curriculum year group for a child's age at the start of the school year."""
    return "Reception" if age <= 4 else f"Year {min(age - 4, 13)}"


def records(ctx: RecordContext, c: Citizen, h: Household, person_id: str) -> list[Record]:
    """The education records of citizen `c` (empty: not on roll in the area)."""
    rng = ctx.rng
    age = ctx.age(c)
    if c.role != "child" or c.school is None or not 4 <= age <= 17 or rng.random() < 0.02:
        return []
    if age >= 16 and rng.random() < 0.5:
        return []  # left after Year 11
    out: list[Record] = []
    concern = bool({"domestic_abuse", "neglect", "substance_misuse"} & h.flags)
    school = c.school
    start = ctx.as_of.replace(month=9, day=1)
    if start > ctx.as_of:
        start = start.replace(year=start.year - 1)
    out.append(ctx.record(person_id, Category.SCHOOL_ENROLMENT, start,
                          f"On roll at {school.name}, {year_group(age)}",
                          {"school": school.name, "year_group": year_group(age)}, code="/ENR"))
    base = rng.gauss(95.0, 3.0) - (rng.uniform(5, 25) if concern else 0.0)
    pct = max(30.0, min(100.0, base))
    band = ("severe absence" if pct < 50 else "persistent absence" if pct < 90 else "")
    text = f"Attendance {pct:.1f}% this academic year" + (f" ({band})" if band else "")
    out.append(ctx.record(person_id, Category.ATTENDANCE, ctx.as_of, text,
                          {"attendance_pct": f"{pct:.1f}", "band": band or "expected"},
                          code="/ATT"))
    if age >= 9 and ((concern and rng.random() < 0.2) or rng.random() < 0.03):
        for _ in range(rng.randint(1, 3)):
            days = rng.choice((1, 1, 2, 3, 5))
            reason = rng.choice(("physical assault against a pupil", "persistent disruptive "
                                 "behaviour", "verbal abuse against an adult", "damage"))
            out.append(ctx.record(person_id, Category.EXCLUSIONS, ctx.day_within(1),
                                  f"Suspension, {days} day(s): {reason}",
                                  {"type": "suspension", "days": str(days)}, code="/EXC"))
    if rng.random() < (0.2 if concern else 0.12):
        need = rng.choice(_SEN_NEEDS)
        ehcp = rng.random() < 0.2
        text = f"EHCP in place: {need}" if ehcp else f"SEN support: {need}"
        out.append(ctx.record(person_id, Category.SEN_EHCP, ctx.day_within(3),
                              text, {"provision": "EHCP" if ehcp else "SEN support",
                                     "primary_need": need}, code="/SEN"))
    if concern and rng.random() < 0.7 or rng.random() < 0.03:
        n = rng.randint(1, 4)
        on_roll_from = c.date_of_birth + timedelta(days=4 * 365 + 1)
        for inc in [i for i in domestic_incidents(ctx, h) if i.occurred_on >= on_roll_from][-n:]:
            # Operation Encompass: the school is told before the next school day.
            out.append(ctx.record(person_id, Category.DSL_CONCERNS, inc.occurred_on,
                                  "DSL: Operation Encompass notification received; "
                                  "child seen by DSL", {"source": "Operation Encompass"},
                                  code="/DSL"))
        for _ in range(rng.randint(1, 3)):
            what = rng.choice(_DSL_CONCERNS)
            out.append(ctx.record(person_id, Category.DSL_CONCERNS, ctx.day_within(1),
                                  f"DSL concern logged: {what}", {"concern": what},
                                  code="/DSL"))
    return out
