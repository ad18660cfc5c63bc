"""One synthetic population of households: the ground truth that agency stores are projected from.

Households are couples or lone parents with children, single adults, and
multi-adult homes (a grandparent, an adult sibling, a lodger, a new partner).
Children are born to parents aged 17-44; 1.5% of births are twins (same date
of birth and surname, different given names). Children may carry the father's,
the mother's or a double-barrelled surname; some women carry a married name
with the maiden name kept as a previous name. A household may have moved
recently (the previous address is what slower agencies still hold) and carries
risk flags that make its records across agencies tell one coherent story.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from stdnum.gb import nhs as _nhs_number
from stdnum.gb import upn as _upn

from agency_adapters.seed.names import NamePools
from agency_adapters.seed.places import LA_NUMBER, School, Street, make_schools, make_streets

#: Household risk flags and their prevalence (roughly: local-authority child-in-need profiles).
RISK_FLAGS: dict[str, float] = {
    "domestic_abuse": 0.05,
    "substance_misuse": 0.03,
    "parental_mental_health": 0.05,
    "neglect": 0.025,
    "antisocial_behaviour": 0.03,
    "financial_hardship": 0.10,
    "homelessness": 0.015,
}


@dataclass(frozen=True)
class Address:
    """A first line of address and its postcode."""

    line: str
    postcode: str


@dataclass(frozen=True)
class Citizen:
    """One real (synthetic) person: the truth, before any agency's errors."""

    cid: int
    household: int
    role: str  # child | parent | adult (no children at home) | other (another household member)
    given_name: str
    middle_name: str
    family_name: str
    previous_family_name: str  # maiden or earlier surname, "" if none
    date_of_birth: date
    sex: str
    nhs_number: str
    upn: str  # children of school age only
    school: School | None
    twin_of: int | None = None


@dataclass(frozen=True)
class Household:
    """People living at one address, with the household's story."""

    hid: int
    address: Address
    previous_address: Address | None
    members: tuple[int, ...]
    tenure: str  # social_rent | private_rent | owner
    flags: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Population:
    """The whole synthetic population of the local authority."""

    citizens: tuple[Citizen, ...]
    households: tuple[Household, ...]
    schools: tuple[School, ...]
    as_of: date

    def age(self, c: Citizen) -> int:
        """Age in whole years on `as_of`."""
        d = c.date_of_birth
        return self.as_of.year - d.year - ((self.as_of.month, self.as_of.day) < (d.month, d.day))


class _Numbers:
    """Unique NHS numbers and UPNs.

    NHS numbers are drawn from 900 000 0000 upwards, a range never issued to patients
    in England (issued: 400-499 and 600-799 million), with a valid modulus-11 check digit.
    """

    def __init__(self, rng: random.Random, count: int) -> None:
        self._nhs = iter(rng.sample(range(10**8), int(count * 1.2) + 100))
        self._upn_serial: dict[tuple[str, int], itertools.count[int]] = {}

    def nhs(self) -> str:
        while True:
            nine = f"9{next(self._nhs):08d}"
            # At most one final digit passes the modulus-11 check (none when it would be 10).
            for check in "0123456789":
                if _nhs_number.is_valid(nine + check):
                    return nine + check

    def upn(self, school: School, year: int) -> str:
        serial = next(self._upn_serial.setdefault((school.establishment, year), itertools.count(1)))
        body = f"{LA_NUMBER}{school.establishment}{year % 100:02d}{serial % 1000:03d}"
        return f"{_upn.calc_check_digit(body)}{body}"


def _weighted(rng: random.Random, names: tuple[str, ...], cum: list[float]) -> str:
    return names[bisect.bisect(cum, rng.random() * cum[-1])]


def generate_population(rng: random.Random, people: int, pools: NamePools,
                        as_of: date) -> Population:
    """About `people` citizens in households, deterministic for the state of `rng`."""
    cum_surnames = list(itertools.accumulate(pools.surname_weights))
    numbers = _Numbers(rng, people)
    citizens: list[Citizen] = []
    raw_households: list[tuple[list[int], str, frozenset[str]]] = []

    def surname() -> str:
        return _weighted(rng, pools.surnames, cum_surnames)

    def dob_for_age(age_lo: int, age_hi: int) -> date:
        days = rng.randint(age_lo * 365 + 1, age_hi * 365 + 364)
        return as_of - timedelta(days=days)

    def adult(sex: str, family: str, born: date, role: str, previous: str = "") -> Citizen:
        pool = pools.adult_female if sex == "female" else pools.adult_male
        middle = rng.choice(pool) if rng.random() < 0.55 else ""
        c = Citizen(len(citizens), len(raw_households), role, rng.choice(pool), middle, family,
                    previous, born, sex, numbers.nhs(), "", None)
        citizens.append(c)
        return c

    while len(citizens) < people:
        kind = rng.choices(("couple_children", "lone_parent", "couple", "single", "multi_adult"),
                           weights=(30, 12, 24, 26, 8))[0]
        members: list[int] = []
        mother_age = rng.randint(21, 58)
        mother_born = dob_for_age(mother_age, mother_age)
        dad_family = surname()
        maiden = surname()
        if kind in ("couple_children", "couple"):
            married = rng.random() < 0.6
            mum = adult("female", dad_family if married else maiden, mother_born, "parent",
                        maiden if married else "")
            dad_age = max(19, mother_age + rng.randint(-3, 7))
            dad = adult("male", dad_family, dob_for_age(dad_age, dad_age), "parent")
            members += [mum.cid, dad.cid]
        elif kind == "lone_parent":
            mum = adult("female", maiden, mother_born, "parent")
            members.append(mum.cid)
        elif kind == "single":
            sex = rng.choice(("female", "male"))
            age = rng.randint(18, 85)
            members.append(adult(sex, surname(), dob_for_age(age, age), "adult").cid)
        else:
            sex = rng.choice(("female", "male"))
            members.append(adult(sex, dad_family, mother_born, "parent").cid)
            mum = None
        if kind in ("couple_children", "lone_parent", "multi_adult") and mother_age < 50:
            n_children = rng.choices((1, 2, 3, 4, 5), weights=(38, 38, 16, 6, 2))[0]
            for _ in range(n_children):
                age_at_birth = rng.randint(17, 44)
                child_age = mother_age - age_at_birth
                if child_age < 0 or child_age > 17:
                    continue
                born = dob_for_age(child_age, child_age)
                roll = rng.random()
                if kind == "lone_parent":
                    fam = surname() if roll < 0.4 else maiden
                elif roll < 0.8:
                    fam = citizens[members[-1]].family_name if kind == "multi_adult" else dad_family
                elif roll < 0.93:
                    fam = maiden
                else:
                    fam = f"{maiden}-{dad_family}" if maiden != dad_family else dad_family
                twins = 2 if rng.random() < 0.015 else 1
                given_used: set[str] = set()
                first: int | None = None
                for _t in range(twins):
                    sex = rng.choice(("female", "male"))
                    pool = pools.child_female if sex == "female" else pools.child_male
                    given = rng.choice(pool)
                    while given in given_used:
                        given = rng.choice(pool)
                    given_used.add(given)
                    middle = rng.choice(pool) if rng.random() < 0.7 else ""
                    c = Citizen(len(citizens), len(raw_households), "child", given, middle, fam, "",
                                born, sex, numbers.nhs(), "", None, first)
                    citizens.append(c)
                    members.append(c.cid)
                    first = c.cid if first is None else first
        if kind == "multi_adult" or (kind == "couple_children" and rng.random() < 0.05):
            age = rng.randint(18, 80)
            other = adult(rng.choice(("female", "male")), surname(), dob_for_age(age, age), "other")
            members.append(other.cid)
        flags = frozenset(f for f, p in RISK_FLAGS.items() if rng.random() < p)
        tenure = rng.choices(("social_rent", "private_rent", "owner"),
                             weights=(17 + 30 * bool(flags), 20, 63 - 20 * bool(flags)))[0]
        raw_households.append((members, tenure, flags))

    streets = make_streets(rng, len(raw_households))
    homes = [(s, n) for s in streets for n in range(1, s.houses + 1)]
    rng.shuffle(homes)
    children_count = sum(1 for c in citizens if c.role == "child")
    schools = make_schools(rng, children_count)
    primaries = [s for s in schools if not s.secondary]
    secondaries = [s for s in schools if s.secondary]

    def address_of(home: tuple[Street, int]) -> Address:
        street, number = home
        return Address(f"{number} {street.name}", street.postcodes[number % len(street.postcodes)])

    households: list[Household] = []
    spare = len(homes) - len(raw_households)
    for hid, (members, tenure, flags) in enumerate(raw_households):
        moved = rng.random() < (0.35 if "homelessness" in flags else 0.12)
        previous = address_of(homes[len(raw_households) + rng.randrange(spare)]) \
            if moved and spare > 0 else None
        households.append(Household(hid, address_of(homes[hid]), previous, tuple(members),
                                    tenure, flags))

    # School places and UPNs (allocated in the year the child started school, aged 4).
    final: list[Citizen] = []
    for c in citizens:
        age = as_of.year - c.date_of_birth.year
        if c.role == "child" and 4 <= age <= 17:
            options = secondaries if age >= 11 and secondaries else primaries
            school = options[(c.household * 7 + (age >= 11)) % len(options)]
            upn = numbers.upn(school, c.date_of_birth.year + 4)
            c = replace(c, upn=upn, school=school)
        final.append(c)
    return Population(tuple(final), tuple(households), tuple(schools), as_of)
