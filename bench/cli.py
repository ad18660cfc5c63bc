"""`mash bench ...`: benchmarks that print figures (never timed assertions)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    """Add `mash bench ...`."""
    bench = sub.add_parser("bench", help="run a benchmark and print figures")
    bsub = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    lookup = bsub.add_parser("lookup", help="lookups/s and latency vs a plain gRPC fan-out baseline")
    lookup.add_argument("--seconds", type=float, default=10.0)
    lookup.add_argument("--concurrency", type=int, default=8)
    lookup.add_argument("--people", type=int, default=10_000, help="people per agency store")
    lookup.add_argument("--home", type=Path, default=Path(".mash-bench"))
    lookup.add_argument("--audit-off", action="store_true",
                        help="also measure the broker with its audit log off (same run)")
    lookup.add_argument("--json", action="store_true", help="print one JSON object")
    lookup.set_defaults(handler=_lookup)


def _lookup(args: argparse.Namespace) -> int:
    from bench.lookup import run_benchmark
    from mash import logs

    logs.configure(json=False, level="warning")
    result = run_benchmark(home=args.home, seconds=args.seconds, concurrency=args.concurrency,
                           people=args.people, audit_off=args.audit_off)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            if key != "detail":
                print(f"{key:>20}: {value}")
    return 0
