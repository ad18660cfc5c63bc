"""Ready-made demo referrals (`demo_subjects.json`): subjects as a referrer would know them.

A referrer knows a family differently from any agency: a nickname, the current
address, rarely an NHS number. Each subject lists which agencies hold the person
(`known_to`, the ground truth of the seed) and the band the matcher gave at
seeding time (`match_at_seed`), so demos and tests can check both.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from agency_adapters.backend import QueryIdentifiers
from agency_adapters.matching import match
from agency_adapters.seed import errors
from agency_adapters.seed.build import Projection
from agency_adapters.seed.population import Citizen, Household, Population
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.demo_data import DemoIdentifiers, DemoReferral, DemoSubject
from mash.vocab import (
    GATEWAY_FOR_PURPOSE,
    Agency,
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    SubjectRole,
)


def as_referrer_knows(rng: random.Random, c: Citizen, h: Household, *, nickname: bool = False,
                      with_dob: bool = True, with_nhs: bool = False,
                      with_postcode: bool = True) -> DemoIdentifiers:
    """The identifiers a referrer would give for `c` (current address, maybe a nickname)."""
    given = c.given_name
    if nickname and (nick := errors.nickname(rng, given)):
        given = nick
    ids: DemoIdentifiers = {
        "given_name": given,
        "family_name": c.family_name,
        "other_names": [c.previous_family_name] if c.previous_family_name else [],
        "date_of_birth": c.date_of_birth.isoformat() if with_dob else "",
        "sex": c.sex,
        "postcode": h.address.postcode if with_postcode else "",
        "address": h.address.line,
        "nhs_number": c.nhs_number if with_nhs else "",
        "upn": "",
    }
    return ids


def _subject(subject_id: str, role: SubjectRole, ids: DemoIdentifiers, cid: int | None,
             projections: Sequence[Projection]) -> DemoSubject:
    known = sorted(p.agency.value for p in projections if cid is not None and cid in p.person_ids)
    return {"subject_id": subject_id, "role": role.value, "identifiers": ids, "known_to": known}


def _referral(referral_id: str, rag: Rag, purpose: Purpose, consent: ConsentState,
              reason: ReasonCode | None, description: str,
              subjects: list[DemoSubject]) -> DemoReferral:
    return {
        "referral_id": referral_id, "rag": rag.value, "purpose": purpose.value,
        "statutory_gateway": GATEWAY_FOR_PURPOSE[purpose].value,
        "consent": {"state": consent.value, "reason": reason.value if reason else ""},
        "description": description, "subjects": subjects,
    }


def demo_citizens(pop: Population, red: Household) -> dict[str, list[int]]:
    """The citizens each demo referral is about (chosen before projection to force coverage)."""
    members = [pop.citizens[i] for i in red.members]
    children = sorted((c for c in members if c.role == "child"), key=lambda c: -pop.age(c))
    primary = next(c for c in children if 4 <= pop.age(c) <= 15)
    adults = [c for c in members if c.role == "parent"]
    others = [c for c in members if c.cid != primary.cid and c not in adults]
    chosen: dict[str, list[int]] = {"red": [primary.cid] + [a.cid for a in adults]
                                    + [o.cid for o in others[:1]]}
    used = {red.hid}
    twin = next((c for c in pop.citizens if c.twin_of is not None and 5 <= pop.age(c) <= 15
                 and c.household not in used), None)
    if twin is not None:
        chosen["twins"] = [twin.twin_of or 0, twin.cid]
        used.add(twin.household)
    green = next((c for c in pop.citizens if c.role == "child" and 6 <= pop.age(c) <= 12
                  and c.household not in used and not pop.households[c.household].flags),
                 None) or next((c for c in pop.citizens if c.role == "child"
                                and c.household not in used), None)
    if green is not None:
        chosen["green"] = [green.cid]
        used.add(green.household)
    partial = next((c for c in pop.citizens if c.role == "child" and 3 <= pop.age(c) <= 12
                    and c.household not in used), None)
    if partial is not None:
        chosen["partial"] = [partial.cid]
    return chosen


def _unknown_child(rng: random.Random, as_of: date) -> DemoIdentifiers:
    # Not drawn from the population: no agency can hold this child.
    born = as_of - timedelta(days=rng.randint(5 * 365, 12 * 365))
    return {"given_name": "Ottilie", "family_name": "Quennell-Farthing", "other_names": [],
            "date_of_birth": born.isoformat(), "sex": "female", "postcode": "S7 1QX",
            "address": "4 Abbey Lane", "nhs_number": "", "upn": ""}


def write_demo_subjects(path: Path, pop: Population, chosen: dict[str, list[int]],
                        projections: Sequence[Projection], stores: dict[Agency, Path],
                        *, seed: int) -> list[DemoReferral]:
    """Write the demo referrals to `path`, with each subject's band at every seeded agency."""
    rng = random.Random(f"{seed}:demo")
    cz = pop.citizens
    hh = pop.households
    referrals: list[DemoReferral] = []

    red = chosen["red"]
    child, adults, rest = cz[red[0]], [cz[i] for i in red[1:] if cz[i].role == "parent"], \
        [cz[i] for i in red[1:] if cz[i].role != "parent"]
    home = hh[child.household]
    subjects = [_subject("child-1", SubjectRole.CHILD, as_referrer_knows(rng, child, home),
                         child.cid, projections)]
    for n, a in enumerate(adults, 1):
        subjects.append(_subject(f"parent-{n}", SubjectRole.PARENT_CARER,
                                 as_referrer_knows(rng, a, home, nickname=a.sex == "male"),
                                 a.cid, projections))
    for n, o in enumerate(rest, 1):
        subjects.append(_subject(f"household-{n}", SubjectRole.HOUSEHOLD_MEMBER,
                                 as_referrer_knows(rng, o, home, nickname=True), o.cid,
                                 projections))
    referrals.append(_referral(
        "MASH-2026-0417", Rag.RED, Purpose.CHILD_PROTECTION_ENQUIRY, ConsentState.NOT_SOUGHT,
        ReasonCode.RISK_OF_SIGNIFICANT_HARM,
        "Police attended a domestic abuse incident last week (DASH high, children present); "
        "school reports the child withdrawn. Strategy discussion needed.", subjects))

    if "green" in chosen:
        g = cz[chosen["green"][0]]
        referrals.append(_referral(
            "MASH-2026-0418", Rag.GREEN, Purpose.EARLY_HELP, ConsentState.REFUSED, None,
            "School asks for early help for a child with low attendance; parent refused "
            "consent.",
            [_subject("child-1", SubjectRole.CHILD, as_referrer_knows(rng, g, hh[g.household]),
                      g.cid, projections)]))

    if "twins" in chosen:
        a, b = (cz[i] for i in chosen["twins"])
        twins = _referral(
            "MASH-2026-0419", Rag.AMBER, Purpose.CHILD_IN_NEED_ASSESSMENT, ConsentState.GIVEN,
            None, "One of twins referred by the health visitor; the other twin is not the subject.",
            [_subject("child-1", SubjectRole.CHILD, as_referrer_knows(rng, a, hh[a.household]),
                      a.cid, projections)])
        # The other twin shares surname, DOB and address: a match to them would be a breach.
        twins["not_subjects"] = [{"twin_of": "child-1", "given_name": b.given_name}]
        referrals.append(twins)

    if "partial" in chosen:
        p = cz[chosen["partial"][0]]
        referrals.append(_referral(
            "MASH-2026-0420", Rag.AMBER, Purpose.CHILD_IN_NEED_ASSESSMENT, ConsentState.GIVEN,
            None, "Anonymous call from a neighbour: name and street only, no date of birth.",
            [_subject("child-1", SubjectRole.CHILD,
                      as_referrer_knows(rng, p, hh[p.household], with_dob=False,
                                        with_postcode=False), p.cid,
                      projections)]))

    referrals.append(_referral(
        "MASH-2026-0421", Rag.AMBER, Purpose.CHILD_IN_NEED_ASSESSMENT, ConsentState.GIVEN, None,
        "Child new to the area; no agency is expected to know her.",
        [_subject("child-1", SubjectRole.CHILD, _unknown_child(rng, pop.as_of), None,
                  projections)]))

    # Run the real matcher so the file says what each agency will answer today.
    opened = {a: SqliteAgencyStore(p) for a, p in stores.items()}
    try:
        for ref in referrals:
            for s in ref["subjects"]:
                if "identifiers" not in s:
                    continue
                q = QueryIdentifiers.from_mapping(s["identifiers"])
                s["match_at_seed"] = {a.value: match(st, q).band.value for a, st in opened.items()}
    finally:
        for st in opened.values():
            st.close()
    doc = {"synthetic": True, "seed": seed, "as_of": pop.as_of.isoformat(),
           "referrals": referrals}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return referrals
