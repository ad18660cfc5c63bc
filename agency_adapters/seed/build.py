"""Seeding: one population, projected into each agency's store."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Protocol

from agency_adapters import childrens_social_care, education, health, housing, police
from agency_adapters.backend import Person, Record
from agency_adapters.seed.context import RecordContext
from agency_adapters.seed.names import build_pools
from agency_adapters.seed.population import Citizen, Household, Population, generate_population
from agency_adapters.seed.project import project
from agency_adapters.seed.stories import DEMO_FLAG
from agency_adapters.sqlite_store import StoreWriter
from mash.vocab import Agency, Category

#: The record generator of each agency.
AGENCY_MODULES: dict[Agency, ModuleType] = {
    Agency.POLICE: police,
    Agency.HEALTH: health,
    Agency.EDUCATION: education,
    Agency.HOUSING: housing,
    Agency.CHILDRENS_SOCIAL_CARE: childrens_social_care,
}
_BATCH = 20_000


class RecordSink(Protocol):
    """Where a projection writes (a SQLite store, or a synthetic reporting warehouse)."""

    def add_people(self, people: Iterable[Person]) -> None:
        """Write people."""
        ...

    def add_records(self, records: Iterable[Record]) -> None:
        """Write records."""
        ...


class SeedError(Exception):
    """Seeding cannot proceed (bad size, unwritable folder)."""


@dataclass(frozen=True)
class AgencySeed:
    """What was written for one agency."""

    agency: Agency
    path: Path
    people: int
    records: int
    seconds: float


@dataclass(frozen=True)
class SeedReport:
    """What `seed_agencies` produced."""

    seed: int
    population: int
    households: int
    agencies: tuple[AgencySeed, ...]
    demo_subjects: Path
    seconds: float
    as_of: date


@dataclass(frozen=True)
class Projection:
    """Where each citizen ended up in one agency: person id and whether records exist."""

    agency: Agency
    person_ids: dict[int, str]  # citizen id -> agency person id (known people only)
    records_by_citizen: dict[int, list[Record]]  # kept only for demo citizens
    people_by_citizen: dict[int, Person]  # kept only for demo citizens


def choose_demo_household(pop: Population) -> Household:
    """A household with a primary-age child and two parents: the Red referral of the demo."""
    def fits(h: Household, lo: int, hi: int) -> bool:
        members = [pop.citizens[i] for i in h.members]
        parents = {c.sex for c in members if c.role == "parent"}
        return parents == {"female", "male"} and any(
            c.role == "child" and lo <= pop.age(c) <= hi for c in members)
    for lo, hi in ((6, 10), (4, 15)):
        for h in pop.households:
            if fits(h, lo, hi):
                return h
    raise SeedError("population too small for the demo referral; use --people 200 or more")


def mark_demo_household(pop: Population, hid: int) -> Population:
    """The population with household `hid` made the demo's Red referral (DA, social tenancy)."""
    households = list(pop.households)
    h = households[hid]
    households[hid] = replace(h, tenure="social_rent",
                              flags=h.flags | {"domestic_abuse", "financial_hardship", DEMO_FLAG})
    return replace(pop, households=tuple(households))


def _demo_ok(agency: Agency, c: Citizen, recs: list[Record]) -> bool:
    if c.role != "child":
        return True
    if agency is Agency.POLICE:
        return any(r.category is Category.DOMESTIC_ABUSE_INCIDENTS
                   and r.attributes.get("dash_risk") == "high" for r in recs)
    return bool(recs) or agency is Agency.CHILDRENS_SOCIAL_CARE


def project_agency(pop: Population, agency: Agency, writer: RecordSink, *, seed: int,
                   demo_citizens: frozenset[int],
                   keep_single: frozenset[int] = frozenset()) -> Projection:
    """Write every citizen known to `agency` (with their records) through `writer`."""
    module = AGENCY_MODULES[agency]
    rng = random.Random(f"{seed}:{agency.value}")
    ctx = RecordContext(rng, pop, module.RECORD_PREFIX, seed)
    records_fn: Callable[[RecordContext, Citizen, Household, str], list[Record]] = module.records
    person_ids: dict[int, str] = {}
    keep_records: dict[int, list[Record]] = {}
    keep_people: dict[int, Person] = {}
    # Agency person ids are not citizen ids: shuffle so order reveals nothing across agencies.
    order = list(range(len(pop.citizens)))
    numbers = list(range(100_000, 100_000 + len(order)))
    rng.shuffle(numbers)
    spare_ids = iter(range(100_000 + len(order), 10_000_000))
    people: list[Person] = []
    records: list[Record] = []
    for cid in order:
        c = pop.citizens[cid]
        h = pop.households[c.household]
        pid = f"{module.PERSON_PREFIX}{numbers[cid]:07d}"
        recs = records_fn(ctx, c, h, pid)
        if cid in demo_citizens:
            for _ in range(40):
                if _demo_ok(agency, c, recs):
                    break
                recs = records_fn(ctx, c, h, pid)
        if not recs:
            continue
        person = project(rng, c, h, pid, module.QUALITY)
        person_ids[cid] = pid
        people.append(person)
        if len(recs) > 1 and cid not in demo_citizens and cid not in keep_single \
                and rng.random() < module.QUALITY.duplicate:
            # Registered twice (a new record made instead of finding the old one): the
            # duplicate has its own errors and some of the records.
            dup_id = f"{module.PERSON_PREFIX}{next(spare_ids):07d}"
            people.append(project(rng, c, h, dup_id, module.QUALITY))
            moved = rng.randint(1, len(recs) - 1)
            recs = recs[:-moved] + [replace(r, person_id=dup_id) for r in recs[-moved:]]
        records.extend(recs)
        if cid in demo_citizens:
            keep_records[cid] = recs
            keep_people[cid] = person
        if len(people) >= _BATCH:
            writer.add_people(people)
            writer.add_records(records)
            people, records = [], []
    writer.add_people(people)
    writer.add_records(records)
    return Projection(agency, person_ids, keep_records, keep_people)


def build_population(seed: int, people: int, as_of: date) -> tuple[Population, Household]:
    """The population for `seed` with its demo household marked."""
    if people < 50:
        raise SeedError(f"--people must be at least 50, got {people}")
    pop = generate_population(random.Random(f"{seed}:population"), people, build_pools(seed),
                              as_of)
    demo = choose_demo_household(pop)
    pop = mark_demo_household(pop, demo.hid)
    return pop, pop.households[demo.hid]


def seed_stores(data_dir: Path, pop: Population, agencies: Sequence[Agency], *, seed: int,
                store_path: Callable[[Agency], Path], demo_citizens: frozenset[int],
                keep_single: frozenset[int] = frozenset(),
                ) -> tuple[list[AgencySeed], list[Projection]]:
    """Build each agency's store from `pop`."""
    reports: list[AgencySeed] = []
    projections: list[Projection] = []
    for agency in agencies:
        t0 = time.perf_counter()
        path = store_path(agency)
        with StoreWriter(path, agency.value, meta={"seed": str(seed),
                                                   "as_of": pop.as_of.isoformat(),
                                                   "synthetic": "yes"}) as writer:
            proj = project_agency(pop, agency, writer, seed=seed, demo_citizens=demo_citizens,
                                  keep_single=keep_single)
        reports.append(AgencySeed(agency, path, writer.people, writer.records,
                                  time.perf_counter() - t0))
        projections.append(proj)
    return reports, projections
