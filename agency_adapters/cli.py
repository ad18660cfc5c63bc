"""`mash seed` and `mash match ...` (and, added by the adapter runtime, `mash adapter serve`).

Each command is registered by its own small function so that new commands are
added beside them without touching the others.
"""

from __future__ import annotations

import argparse
from typing import Any

from mash.cli import UsageError
from mash.home import Home
from mash.vocab import Agency, parse


def _seed(args: argparse.Namespace) -> int:
    from agency_adapters.seed import ALL_AGENCIES, SeedError, seed_agencies

    if args.people < 50 or args.people > 5_000_000:
        raise UsageError(f"--people must be between 50 and 5,000,000, got {args.people}")
    agencies = tuple(parse(Agency, a) for a in args.agency) if args.agency else ALL_AGENCIES
    home = Home.at(args.home).ensure()
    try:
        report = seed_agencies(home.data_dir, seed=args.seed, people=args.people,
                               agencies=agencies, store_path=lambda a: home.agency_store(a.value))
    except SeedError as exc:
        raise UsageError(str(exc)) from exc
    print(f"seeded {report.population:,} synthetic people in {report.households:,} households "
          f"(seed {report.seed}) in {report.seconds:.1f}s")
    for a in report.agencies:
        print(f"  {a.agency.value:<22} {a.people:>9,} people {a.records:>10,} records  {a.path}")
    print(f"  demo referrals: {report.demo_subjects}")
    return 0


def register_seed(sub: Any) -> None:
    """`mash seed [--home DIR] [--seed N] [--people N] [--agency A ...]`."""
    p = sub.add_parser("seed", help="generate synthetic agency stores (SQLite) under --home")
    p.add_argument("--home", default=None, help="home folder (default ./.mash)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--people", type=int, default=10_000, help="population size (default 10000)")
    p.add_argument("--agency", action="append", default=[], metavar="AGENCY",
                   help=f"agency to seed (repeatable; default all: {', '.join(Agency)})")
    p.set_defaults(handler=_seed)


def register(sub: Any) -> None:
    """Add this part's sub-commands to the `mash` parser."""
    register_seed(sub)
