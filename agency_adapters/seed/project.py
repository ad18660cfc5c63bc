"""Projection: how one agency's system holds a citizen (its own id, its own errors).

Each agency has a `QualityProfile`: which identifiers it records and how often
its records drift from the truth. Rates are per person and are drawn from an
injected RNG, so a seed gives the same store every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from agency_adapters.backend import Person
from agency_adapters.matching.normalise import format_nhs_number
from agency_adapters.seed import errors
from agency_adapters.seed.population import Citizen, Household


@dataclass(frozen=True)
class QualityProfile:
    """How often one agency's record of a person differs from the truth (probabilities)."""

    nhs_held: float = 0.0          # NHS number recorded
    upn_held: float = 0.0          # UPN recorded (school-age children only)
    nhs_spaced: float = 0.3        # written '943 476 5919' rather than '9434765919'
    nickname: float = 0.02         # a short form recorded as the given name
    typo_given: float = 0.01
    typo_family: float = 0.01
    dob_swap: float = 0.005        # day and month exchanged
    dob_slip: float = 0.005        # one digit or the year off
    dob_missing: float = 0.0
    stale_address: float = 0.3     # after a move, the old address is still held
    previous_surname: float = 0.05  # a woman still held under her previous surname
    barrel_dropped: float = 0.1    # one half of a double-barrelled surname held
    middle_names_kept: float = 0.5  # middle names recorded with the given name
    other_names_kept: float = 0.5   # previous surname recorded as another name
    sex_missing: float = 0.01
    duplicate: float = 0.0          # the person was registered twice; records split between them


def project(rng: random.Random, c: Citizen, h: Household, person_id: str,
            q: QualityProfile) -> Person:
    """How an agency with quality `q` holds citizen `c` of household `h`."""
    given = c.given_name
    if rng.random() < q.nickname and (nick := errors.nickname(rng, given)):
        given = nick
    elif rng.random() < q.typo_given:
        given = errors.typo(rng, given)
    if c.middle_name and rng.random() < q.middle_names_kept:
        given = f"{given} {c.middle_name}"

    family = c.family_name
    others: list[str] = []
    if c.previous_family_name:
        if rng.random() < q.previous_surname:
            family, others = c.previous_family_name, []
        elif rng.random() < q.other_names_kept:
            others.append(c.previous_family_name)
    if "-" in family and rng.random() < q.barrel_dropped:
        family = errors.drop_barrel(rng, family)
    if rng.random() < q.typo_family:
        family = errors.typo(rng, family)

    dob = c.date_of_birth
    dob_out: str | None = dob.isoformat()
    roll = rng.random()
    if roll < q.dob_missing:
        dob_out = None
    elif roll < q.dob_missing + q.dob_swap and (sw := errors.swap_day_month(dob)):
        dob_out = sw.isoformat()
    elif roll < q.dob_missing + q.dob_swap + q.dob_slip:
        dob_out = errors.slip_dob(rng, dob).isoformat()

    address = h.address
    if h.previous_address is not None and rng.random() < q.stale_address:
        address = h.previous_address

    nhs = ""
    if rng.random() < q.nhs_held:
        nhs = format_nhs_number(c.nhs_number) if rng.random() < q.nhs_spaced else c.nhs_number
    upn = c.upn if c.upn and rng.random() < q.upn_held else ""
    sex = "unknown" if rng.random() < q.sex_missing else c.sex
    return Person(person_id=person_id, given_name=given, family_name=family,
                  other_names=tuple(others), date_of_birth=dob_out, sex=sex,
                  postcode=address.postcode, address=address.line, nhs_number=nhs, upn=upn)
