"""What an agency's record generator is given: randomness, the date, the population, ids."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from agency_adapters.backend import Record
from agency_adapters.seed.population import Citizen, Household, Population
from mash.vocab import Category


@dataclass
class RecordContext:
    """Per-agency generation state: an injected RNG, the reference date and a record counter."""

    rng: random.Random
    population: Population
    prefix: str
    seed: int = 7
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def as_of(self) -> date:
        """The date the data is 'as of' (records are never later)."""
        return self.population.as_of

    def age(self, c: Citizen) -> int:
        """Age of `c` in whole years on `as_of`."""
        return self.population.age(c)

    def day_within(self, years_back: float, not_before: date | None = None) -> date:
        """A random day in the last `years_back` years (and not before `not_before`)."""
        start = self.as_of - timedelta(days=int(years_back * 365))
        if not_before is not None and not_before > start:
            start = not_before
        span = max(0, (self.as_of - start).days)
        return start + timedelta(days=self.rng.randint(0, span))

    def story(self, h: Household, topic: str) -> random.Random:
        """An RNG for one household's story about `topic`, the same in every agency.

        Police, health, school and housing generate their records independently, but
        draw the dates and severity of shared events (an incident, an eviction) from
        this, so the agencies' accounts of one household agree with each other.
        """
        return random.Random(f"{self.seed}:{h.hid}:{topic}")

    def members(self, h: Household) -> list[Citizen]:
        """The citizens of household `h`."""
        return [self.population.citizens[i] for i in h.members]

    def record(self, person_id: str, category: Category, occurred_on: date, summary: str,
               attributes: Mapping[str, str] | None = None, *, code: str = "") -> Record:
        """A new record with an agency-style reference (e.g. 'OCC/25/000123')."""
        n = next(self._counter)
        ref = f"{self.prefix}{code}/{occurred_on.year % 100:02d}/{n:06d}"
        return Record(ref, person_id, category, occurred_on.isoformat(), summary,
                      dict(attributes or {}))
