"""`mash seed`: one synthetic en_GB population projected into every agency's store.

Public API: `seed_agencies(data_dir, *, seed=7, people=10_000, agencies=ALL, as_of=None)`.
Every date in the data is relative to `as_of` (default: today in England, by the injected
clock), so the demo tells the same story on any day: the Red child's social-care case closed
weeks ago, not months. Deterministic for a seed and `as_of`. Writes
`<data_dir>/<agency>.sqlite` and `<data_dir>/demo_subjects.json`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from agency_adapters.seed.build import (
    AGENCY_MODULES,
    AgencySeed,
    SeedError,
    SeedReport,
    build_population,
    seed_stores,
)
from agency_adapters.seed.demo import demo_citizens, write_demo_subjects
from mash.clock import Clock, london_today, utc_now
from mash.vocab import Agency

ALL_AGENCIES: tuple[Agency, ...] = tuple(Agency)
DEMO_SUBJECTS = "demo_subjects.json"


def seed_agencies(data_dir: Path, *, seed: int = 7, people: int = 10_000,
                  agencies: Sequence[Agency] = ALL_AGENCIES, as_of: date | None = None,
                  store_path: Callable[[Agency], Path] | None = None,
                  clock: Clock = utc_now) -> SeedReport:
    """Generate the population for `seed` and write one SQLite store per agency in `data_dir`.

    `store_path` maps an agency to its file (default `<data_dir>/<agency>.sqlite`, the
    `Home.agency_store` layout). `as_of` is the day the data describes (default: today
    in England by `clock`).
    """
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path_of = store_path or (lambda a: data_dir / f"{a.value}.sqlite")
    pop, red = build_population(seed, people, as_of or london_today(clock))
    chosen = demo_citizens(pop, red)
    forced = frozenset(chosen["red"])
    # Demo subjects are never registered twice, so the demo's answers stay stable.
    protected = frozenset(cid for cids in chosen.values() for cid in cids)
    reports, projections = seed_stores(data_dir, pop, list(dict.fromkeys(agencies)), seed=seed,
                                       store_path=path_of, demo_citizens=forced,
                                       keep_single=protected)
    demo_path = data_dir / DEMO_SUBJECTS
    write_demo_subjects(demo_path, pop, chosen, projections,
                        {r.agency: r.path for r in reports}, seed=seed)
    return SeedReport(seed, len(pop.citizens), len(pop.households), tuple(reports), demo_path,
                      time.perf_counter() - t0, pop.as_of)


__all__ = ["AGENCY_MODULES", "ALL_AGENCIES", "DEMO_SUBJECTS", "AgencySeed",
           "SeedError", "SeedReport", "seed_agencies"]
