"""`mash demo`."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from mash.command import HOME, Subparsers, typed


def register(sub: Subparsers) -> None:
    """Add `mash demo`."""
    demo = sub.add_parser("demo", help="run the whole system end to end on this machine", parents=[HOME])
    demo.add_argument("--people", type=int, default=2000, help="synthetic people per agency")
    demo.add_argument("--seed", type=int, default=7, help="seed for the synthetic data")
    demo.add_argument("--keep-running", action="store_true",
                      help="leave the services up and print how to call them")
    demo.set_defaults(handler=typed(DemoArgs, _demo))


@dataclass(frozen=True)
class DemoArgs:
    """`mash demo`."""

    home: str | None
    people: int
    seed: int
    keep_running: bool


def _demo(args: DemoArgs) -> int:
    from mash import logs
    from mash.app.demo import run_demo
    from mash.home import Home

    logs.configure(json=False, level="warning")
    return run_demo(Home.at(args.home), people=args.people, seed=args.seed,
                    keep_running=args.keep_running, out=sys.stdout)
