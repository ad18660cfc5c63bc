"""`mash bench ...`: benchmarks that print figures (never timed assertions)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from mash.command import Subparsers, typed


@dataclass(frozen=True)
class LookupBenchArgs:
    """`mash bench lookup`."""

    seconds: float
    concurrency: int
    people: int
    home: Path
    audit_off: bool
    json: bool


@dataclass(frozen=True)
class OtherBenchArgs:
    """`mash bench NAME ...`: the module that runs it, and the arguments passed on to it."""

    module: str
    args: list[str]


def register(sub: Subparsers) -> None:
    """Add `mash bench ...`."""
    bench = sub.add_parser("bench", help="run a benchmark and print figures")
    bsub = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    lookup = bsub.add_parser("lookup", help="lookups/s and latency vs a plain gRPC fan-out baseline")
    lookup.add_argument("--seconds", type=float, default=10.0)
    lookup.add_argument("--concurrency", type=int, default=8)
    lookup.add_argument("--people", type=int, default=10_000,
                        help="synthetic population; each agency store holds its share of it"
                             " (reported as agency_store_people)")
    lookup.add_argument("--home", type=Path, default=Path(".mash-bench"))
    lookup.add_argument("--audit-off", action="store_true",
                        help="also measure the broker with its audit log off (same run)")
    lookup.add_argument("--json", action="store_true", help="print one JSON object")
    lookup.set_defaults(handler=typed(LookupBenchArgs, _lookup))

    for name, (module, text) in OTHER_BENCHMARKS.items():
        other = bsub.add_parser(name, help=text, add_help=False)
        other.add_argument("args", nargs=argparse.REMAINDER,
                           help=f"passed to python -m {module} (try --help)")
        other.set_defaults(handler=typed(OtherBenchArgs, _other), module=module)


#: Benchmarks of one part each, run with their own flags (`mash bench NAME --help`).
OTHER_BENCHMARKS: dict[str, tuple[str, str]] = {
    "policy": ("bench.policy_decision", "µs per policy decision vs a dict-lookup baseline"),
    "match": ("bench.match_eval", "matching precision/recall/F1 per band, match time, build time"),
    "match-cost": ("bench.match_cost", "the matcher's CPU per query: every candidate scored"
                                       " vs only those that can change the answer"),
    "match-compare": ("bench.match_compare",
                      "mash-hub's matcher and Splink side by side on the same stores"
                      " (needs mash-hub[compare])"),
    "audit-append": ("bench.audit_append", "durable audit appends/s: group commit vs per-append"),
    "audit-scale": ("bench.audit_scale", "audit verify and person search at 1,000,000 entries"),
    "audit-asyncio": ("bench.audit_asyncio", "audit cost to an asyncio caller per lookup"),
    "audit-breakdown": ("bench.audit_breakdown",
                        "the broker log's cost on the real path: full, without SQLite, hand-off"),
    "crypto": ("bench.certs_crypto", "sign/verify, peer identity and token validation costs"),
    "adapter": ("bench.adapter_query", "an adapter's own CPU per query in process, and its parts;"
                                       " --backend sql|fhir|extract: a backend vs the SQLite store"),
}


def _other(args: OtherBenchArgs) -> int:
    import importlib

    module = importlib.import_module(args.module)
    code = module.main(list(args.args))
    return int(code or 0)


def _lookup(args: LookupBenchArgs) -> int:
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
