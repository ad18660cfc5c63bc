"""Health: how the NHS records hold people (PDS-quality demographics), and the records generated.

Categories: GP registration, emergency-department attendances, maternity and
health visiting, CAMHS, was-not-brought appointments, sexual health, substance
misuse, adoption records (rare, sealed).
"""

from __future__ import annotations

from datetime import timedelta

from agency_adapters.backend import Record
from agency_adapters.seed.context import RecordContext
from agency_adapters.seed.population import Citizen, Household
from agency_adapters.seed.project import QualityProfile
from agency_adapters.seed.stories import domestic_incidents, victim_and_suspect
from mash.vocab import Agency, Category

AGENCY = Agency.HEALTH
PERSON_PREFIX = "PAT-"
RECORD_PREFIX = "EPR"
#: NHS demographics are good (traced against the Spine) but addresses lag behind moves.
QUALITY = QualityProfile(nhs_held=0.985, nickname=0.01, typo_given=0.005, typo_family=0.005,
                         dob_swap=0.002, dob_slip=0.002, dob_missing=0.0, stale_address=0.45,
                         previous_surname=0.04, barrel_dropped=0.05, middle_names_kept=0.9,
                         other_names_kept=0.7, sex_missing=0.0,
                         duplicate=0.002)
#: Share of residents registered with a GP practice in the area.
REGISTERED = 0.96

_PRACTICES = ("Crookes Valley Medical Centre", "Abbeydale Road Surgery", "Norton Medical Practice",
              "Hillsborough Health Centre", "Darnall Primary Care Centre", "Porter Brook Surgery",
              "Meadowhead Group Practice", "Page Hall Medical Centre", "Woodseats Medical Centre")
_CHILD_ED = (("head injury (fall at home)", "discharged with advice"),
             ("fracture of forearm", "plastered, fracture clinic follow-up"),
             ("burn to hand", "dressed, GP follow-up"),
             ("asthma attack", "admitted overnight"),
             ("accidental ingestion of medication", "observed 6 hours, safeguarding referral made"),
             ("febrile illness", "discharged"))
_TEEN_ED = (("self-harm (overdose)", "admitted; CAMHS assessment"),
            ("alcohol intoxication", "discharged to parent; school nurse informed"),
            ("assault injury", "discharged; police informed"))
_HV_STAGES = ((0, "new birth visit"), (0, "6-8 week review"), (1, "1 year review"),
              (2, "2-2\u00bd year review"))
_HV_ROUTINE = ("no concerns", "no concerns", "no concerns", "home conditions poor",
               "missed immunisations", "maternal low mood")
_HV_CONCERN = ("home conditions poor", "parent disclosed arguments at home",
               "missed immunisations", "no concerns")
_WNB = ("paediatric outpatient", "dental", "immunisation", "audiology", "ophthalmology")


def records(ctx: RecordContext, c: Citizen, h: Household, person_id: str) -> list[Record]:
    """The health records of citizen `c` (empty: not registered in the area)."""
    rng = ctx.rng
    if rng.random() >= REGISTERED:
        return []
    age = ctx.age(c)
    out: list[Record] = []
    practice = _PRACTICES[h.hid % len(_PRACTICES)]
    # A baby born in the last weeks may not be registered yet as of the data's day: never later.
    since = min(ctx.as_of, max(c.date_of_birth + timedelta(days=rng.randint(7, 42)),
                               ctx.as_of - timedelta(days=rng.randint(200, 20 * 365))))
    out.append(ctx.record(person_id, Category.GP_REGISTRATION, since,
                          f"Registered with {practice}", {"practice": practice}, code="/GP"))
    concern = bool({"domestic_abuse", "neglect", "substance_misuse"} & h.flags)
    if c.role == "child":
        n_ed = rng.choices((0, 1, 2, 3), weights=(60, 25, 10, 5))[0]
        n_ed += int(concern and rng.random() < 0.5)
        for _ in range(n_ed):
            teen = age >= 13 and rng.random() < 0.4
            reason, disposal = rng.choice(_TEEN_ED if teen else _CHILD_ED)
            out.append(ctx.record(person_id, Category.EMERGENCY_ATTENDANCES,
                                  ctx.day_within(3, c.date_of_birth),
                                  f"ED attendance: {reason}; {disposal}",
                                  {"presenting_complaint": reason}, code="/ED"))
        if age <= 3:
            for stage_age, stage in _HV_STAGES:
                if stage_age <= age:
                    note = rng.choice(_HV_CONCERN if concern else _HV_ROUTINE)
                    when = c.date_of_birth + timedelta(days=stage_age * 365 + rng.randint(10, 60))
                    if when <= ctx.as_of:
                        out.append(ctx.record(person_id, Category.MATERNITY_AND_HEALTH_VISITING,
                                              when, f"Health visitor {stage}: {note}",
                                              {"contact": stage, "outcome": note}, code="/HV"))
        if (concern and rng.random() < 0.4) or rng.random() < 0.06:
            for _ in range(rng.randint(1, 3)):
                out.append(ctx.record(person_id, Category.WAS_NOT_BROUGHT,
                                      ctx.day_within(2, c.date_of_birth),
                                      f"Was not brought: {rng.choice(_WNB)} appointment",
                                      code="/WNB"))
        if age >= 8 and ((concern and rng.random() < 0.25) or rng.random() < 0.05):
            need = rng.choice(("anxiety", "low mood", "self-harm", "ADHD assessment",
                               "eating difficulties", "trauma"))
            status = rng.choice(("accepted, on waiting list", "open, seen fortnightly",
                                 "discharged after assessment"))
            out.append(ctx.record(person_id, Category.CAMHS, ctx.day_within(2),
                                  f"CAMHS referral: {need}; {status}",
                                  {"need": need, "status": status}, code="/CAMHS"))
        if age >= 14 and rng.random() < 0.05:
            out.append(ctx.record(person_id, Category.SEXUAL_HEALTH, ctx.day_within(1),
                                  "Sexual health clinic attendance", code="/SH"))
        if rng.random() < 0.002:
            out.append(ctx.record(person_id, Category.ADOPTION_RECORDS, c.date_of_birth,
                                  "Adoption record held (sealed): refer to Caldicott Guardian",
                                  {"handling": "sealed"}, code="/AD"))
    else:
        victim, _suspect = victim_and_suspect(ctx, h)
        if c.sex == "female" and any(m.role == "child" and ctx.age(m) == 0
                                     for m in ctx.members(h)):
            note = "routine enquiry: domestic abuse disclosed" \
                if c is victim and domestic_incidents(ctx, h) else "routine enquiry: no disclosure"
            out.append(ctx.record(person_id, Category.MATERNITY_AND_HEALTH_VISITING,
                                  ctx.day_within(1), f"Antenatal booking; {note}",
                                  {"contact": "antenatal booking"}, code="/MAT"))
        if c is victim and domestic_incidents(ctx, h) and rng.random() < 0.5:
            out.append(ctx.record(person_id, Category.EMERGENCY_ATTENDANCES, ctx.day_within(2),
                                  "ED attendance: facial injury (reported as fall); "
                                  "IDVA details given", {"presenting_complaint": "facial injury"},
                                  code="/ED"))
        elif rng.random() < 0.08:
            reason = rng.choice(("chest pain", "back injury", "laceration to hand",
                                 "alcohol intoxication", "anxiety attack"))
            out.append(ctx.record(person_id, Category.EMERGENCY_ATTENDANCES, ctx.day_within(3),
                                  f"ED attendance: {reason}; discharged",
                                  {"presenting_complaint": reason}, code="/ED"))
        if ("substance_misuse" in h.flags and rng.random() < 0.6) or rng.random() < 0.01:
            drug = rng.choice(("alcohol", "opiates", "crack cocaine", "cannabis"))
            engagement = rng.choice(("engaging well", "poor engagement", "disengaged"))
            out.append(ctx.record(person_id, Category.SUBSTANCE_MISUSE, ctx.day_within(2),
                                  f"Drug and alcohol service: in treatment ({drug}); {engagement}",
                                  {"substance": drug, "engagement": engagement}, code="/SM"))
        if age < 40 and rng.random() < 0.03:
            out.append(ctx.record(person_id, Category.SEXUAL_HEALTH, ctx.day_within(2),
                                  "Sexual health clinic attendance", code="/SH"))
    return out
