"""Small synthetic agency stores for the match-model tests (deterministic, dated by the seed)."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from stdnum.gb import nhs

from agency_adapters.backend import Person
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter

GIVEN = ("oliver", "amelia", "noah", "isla", "jack", "ava", "harry", "mia", "leo", "grace",
         "oscar", "lily", "george", "freya", "arthur", "emily", "theo", "ella", "henry", "poppy",
         "alfie", "sophia", "charlie", "evie", "muhammad", "zara", "jacob", "ruby", "thomas",
         "daisy", "ethan", "hannah", "samuel", "chloe", "joseph", "megan")
FAMILY = ("smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies",
          "patel", "wright", "robinson", "thompson", "evans", "walker", "white", "roberts",
          "green", "hall", "wood", "jackson", "clarke", "khan", "hughes", "edwards", "turner",
          "hill", "moore", "cooper", "ward", "morris", "king", "watson", "harris", "baker",
          "lewis", "young", "allen", "mitchell", "kelly", "bell", "quennell", "oyelaran")
DISTRICTS = ("S1", "S2", "S6", "S7", "S10", "S11", "LS1", "LS6", "M1", "M14")


def nhs_number(rng: random.Random) -> str:
    """A random valid NHS number."""
    while True:
        body = "".join(str(rng.randrange(10)) for _ in range(9))
        for check in "0123456789":  # at most one passes the modulus-11 check
            if nhs.is_valid(body + check):
                return body + check


def random_person(rng: random.Random, pid: str, *, sex: str | None = None,
                  nhs: bool = True) -> Person:
    """One synthetic person (born in the 70 years before 2020)."""
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(70 * 365))
    pc = f"{rng.choice(DISTRICTS)} {rng.randrange(1, 10)}{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}"
    return Person(pid, rng.choice(GIVEN), rng.choice(FAMILY), (), born.isoformat(),
                  sex or rng.choice(("female", "male")), pc, f"{rng.randrange(1, 99)} High St",
                  nhs_number(rng) if nhs else "", "")


def swap_day_month(d: str) -> str:
    """The date with day and month exchanged (when both are months)."""
    y, m, dd = d.split("-")
    return f"{y}-{dd}-{m}" if int(dd) <= 12 and dd != m else d


def build(path: Path, people: list[Person]) -> SqliteAgencyStore:
    """Write and open a store holding `people`."""
    with StoreWriter(path, "health") as w:
        w.add_people(people)
    return SqliteAgencyStore(path)


def store_with_duplicates(path: Path, *, n: int = 1500, dup_share: float = 0.4,
                          swap_share: float = 0.35, seed: int = 3,
                          edit: Callable[[random.Random, Person], Person] | None = None,
                          ) -> SqliteAgencyStore:
    """People, a share of them held twice under the same NHS number; in `swap_share` of the
    second records the day and month of birth are swapped (a level EM should learn)."""
    rng = random.Random(seed)
    people: list[Person] = []
    for i in range(n):
        p = random_person(rng, f"P{i:05d}")
        people.append(p)
        if rng.random() < dup_share:
            dob = p.date_of_birth or ""
            dup = Person(f"D{i:05d}", p.given_name, p.family_name, (),
                         swap_day_month(dob) if rng.random() < swap_share else dob,
                         p.sex, p.postcode, p.address, p.nhs_number, "")
            people.append(edit(rng, dup) if edit else dup)
    return build(path, people)


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write `rows` (the first row's keys are the columns) as a CSV file at `path`."""
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path
