"""Benchmark: the matcher's CPU per query, every candidate scored against only those that count.

    mash bench match-cost [--people N] [--queries N] [--work DIR] [--json]
    mash bench match-cost --evalset DIR [--queries N] [--json]

Builds health's SQLite store as `mash bench adapter` does (the same people, seed and
queries: name, date of birth, sex and postcode; `--work DIR` reuses a store that
benchmark or this one built there for the same size and day), reads each query's
candidates once, then times the matcher on them two ways, query by query, alternating
which goes first:

- `full`, the baseline: every candidate compared in full (`score_candidates`), then `decide`;
- `ranked`, what the adapter runs: candidates bounded cheaply and compared in full only
  while they can come within the margin of the best (`rank_candidates`), then `decide`.

`--evalset DIR` takes instead the store and the queries an evaluation run left in DIR
(`bench.match_eval --work DIR`: eval-store.sqlite, QUERIES.csv), whose queries lack a date
of birth, a postcode or a name as referrals do (shipped weights), each bounded by the role
it gives as `mash match eval` bounds it (`--as-of`, default the set's own day).

Printed: CPU time of this thread per query (p50, p99, mean) for each and their ratios, the
candidates per query and how many were compared in full, and how many answers differ
(band, score, person: 0 expected). CPU time holds under load; the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import (
    DEFAULT,
    MatchResult,
    decide,
    rank_candidates,
    score_candidates,
)
from agency_adapters.matching.matcher import backend_frequencies
from agency_adapters.seed import seed_agencies
from agency_adapters.sqlite_store import SqliteAgencyStore
from bench.adapter_backends import AGENCY, SEED, _queries, _reuse_store, _stamp_store
from bench.lookup import _percentile
from mash.clock import london_today
from mash.home import Home


def _cpu_ms(fn: Callable[[], MatchResult]) -> tuple[float, MatchResult]:
    c0 = time.thread_time()
    result = fn()
    return 1000 * (time.thread_time() - c0), result


def figures(values: list[float]) -> dict[str, float]:
    """p50, p99 and mean of `values` (ms), rounded."""
    s = sorted(values)
    return {"p50": round(_percentile(s, 0.5), 3), "p99": round(_percentile(s, 0.99), 3),
            "mean": round(statistics.fmean(s), 3)}


def measure(store: SqliteAgencyStore, queries: list[QueryIdentifiers]) -> dict[str, Any]:
    """Time both ways on each query's candidates (read once), after one warm-up pass."""
    freq = backend_frequencies(store)
    found: list[list[Person]] = [store.candidates(q) for q in queries]
    full_ms: list[float] = []
    ranked_ms: list[float] = []
    compared: list[int] = []
    differ = 0
    for rnd in range(2):  # the first round warms the caches up and is not counted
        for i, (q, people) in enumerate(zip(queries, found, strict=True)):
            def full(q: QueryIdentifiers = q, people: list[Person] = people) -> MatchResult:
                return decide(q, score_candidates(q, people, freq), DEFAULT, frequencies=freq)

            def ranked(q: QueryIdentifiers = q, people: list[Person] = people) -> MatchResult:
                return decide(q, rank_candidates(q, people, DEFAULT, freq), DEFAULT,
                              frequencies=freq, considered=len(people))

            if i % 2:
                f_ms, f_result = _cpu_ms(full)
                r_ms, r_result = _cpu_ms(ranked)
            else:
                r_ms, r_result = _cpu_ms(ranked)
                f_ms, f_result = _cpu_ms(full)
            if rnd:
                full_ms.append(f_ms)
                ranked_ms.append(r_ms)
                compared.append(len(rank_candidates(q, people, DEFAULT, freq)))
                differ += f_result != r_result
    full_f, ranked_f = figures(full_ms), figures(ranked_ms)
    counts = sorted(len(p) for p in found)
    return {
        "store_people": store.count_people(),
        "queries": len(queries),
        "full_cpu_ms": full_f,
        "ranked_cpu_ms": ranked_f,
        "ranked_vs_full": {k: round(ranked_f[k] / full_f[k], 3) if full_f[k] else None
                           for k in ranked_f},
        "candidates": {"p50": _percentile(counts, 0.5), "p99": _percentile(counts, 0.99),
                       "mean": round(statistics.fmean(counts), 1)},
        "compared_in_full": {"p50": _percentile(sorted(compared), 0.5),
                             "p99": _percentile(sorted(compared), 0.99),
                             "mean": round(statistics.fmean(compared), 2)},
        "answers_differ": differ,
    }


def run(people: int, queries: int, work: Path) -> dict[str, Any]:
    """Build (or reuse) the store in `work` and measure; the figures as one mapping."""
    as_of = london_today()
    home = Home.at(work / "home")
    t0 = time.perf_counter()
    reused = _reuse_store(home, people, as_of)
    if not reused:
        seed_agencies(home.data_dir, seed=SEED, people=people, agencies=(AGENCY,), as_of=as_of)
        _stamp_store(home, people, as_of)
    built = "reused" if reused else round(time.perf_counter() - t0, 1)
    store = SqliteAgencyStore(home.agency_store(AGENCY))
    try:
        result = measure(store, _queries(store, queries))
    finally:
        store.close()
    return {"population": people, "store_built_s": built, **result,
            "load_avg_1m": round(os.getloadavg()[0], 2)}


def evalset_day(folder: Path) -> date:
    """The day an evaluation set's queries' roles are judged on: the one its EVALSET.json
    names (the generated set), else today in London (a trap set is dated back from the day
    it is made)."""
    try:
        return date.fromisoformat(json.loads((folder / "EVALSET.json").read_text())["as_of"])
    except (OSError, ValueError, KeyError, TypeError):
        return london_today()


def run_evalset(folder: Path, queries: int, as_of: date | None = None) -> dict[str, Any]:
    """Measure on the first `queries` queries of an evaluation set's store and QUERIES.csv
    (their roles judged on `as_of`, by default `evalset_day`)."""
    from agency_adapters.matching.evaluate import read_queries

    day = as_of or evalset_day(folder)
    store = SqliteAgencyStore(folder / "eval-store.sqlite")
    try:
        result = measure(store, read_queries(folder / "QUERIES.csv", day)[:queries])
    finally:
        store.close()
    return {"evalset": str(folder), **result, "load_avg_1m": round(os.getloadavg()[0], 2)}


def main(argv: list[str] | None = None) -> int:
    """Entry point (`mash bench match-cost ...`)."""
    parser = argparse.ArgumentParser(prog="mash bench match-cost",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000, help="population size")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the store here (default: a temporary folder); reuses one "
                             "`mash bench adapter` or this benchmark built for --people today")
    parser.add_argument("--evalset", type=Path, default=None,
                        help="an evaluation set's folder (bench.match_eval --work): its store "
                             "and queries instead of --people's")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="with --evalset: the day its queries' roles are judged on (default:"
                             " the day EVALSET.json names, else today in London)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from mash import logs

    logs.configure(json=False, level="error")
    if args.evalset is not None:
        result = run_evalset(args.evalset, args.queries, args.as_of)
    else:
        with tempfile.TemporaryDirectory(prefix="mash-bench-match-cost-") as tmp:
            result = run(args.people, args.queries, args.work or Path(tmp))
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
