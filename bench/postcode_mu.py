"""Postcode comparison levels: m and u measured on an evaluation folder, and the weight each earns.

    .venv/bin/python -m bench.postcode_mu /tmp/r7    # a --work folder of bench.match_eval

m (how often a level occurs for the same person) is counted on query/record pairs linked by
a valid NHS number that agrees and is held by exactly one record -- labelled pairs the data
gives without TRUTH.csv, as an agency could count on its own referrals; when TRUTH.csv is
there the same is counted on every known query for comparison. u (how often for two
different people) is counted on random pairs of records in RECORDS.csv. The weight of a
level is log2(m/u) bits (`agency_adapters/matching/scoring.py`).
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from collections import Counter
from pathlib import Path

from agency_adapters.matching.normalise import normalise_nhs_number, normalise_postcode

LEVELS = ("unit", "sector", "district", "other")


def level(a: str | None, b: str | None) -> str:
    """The closest level at which two normalised postcodes agree (`missing` if either is)."""
    if a is None or b is None:
        return "missing"
    if a == b:
        return "unit"
    if a[:-2] == b[:-2]:
        return "sector"
    if a.split(" ")[0] == b.split(" ")[0]:
        return "district"
    return "other"


def _print(title: str, m: Counter[str], u: Counter[str]) -> None:
    m_n = sum(m[k] for k in LEVELS)
    u_n = sum(u[k] for k in LEVELS)
    print(f"{title}: {m_n:,} pairs ({m['missing']:,} with a postcode missing left out)")
    for k in LEVELS:
        mk, uk = m[k] / m_n if m_n else 0.0, u[k] / u_n
        w = f"{math.log2(mk / uk):+6.2f}" if mk and uk else "   n/a"
        print(f"  {k:<9} m {mk:.4f} ({m[k]:>5,})  u {uk:.6f}  weight {w} bits")


def main(argv: list[str] | None = None) -> int:
    """Print m, u and log2(m/u) for each postcode level of the folder's data."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="holds RECORDS.csv and QUERIES.csv")
    ap.add_argument("--pairs", type=int, default=1_000_000, help="random pairs for u")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    postcodes: dict[str, str | None] = {}
    by_nhs: dict[str, list[str]] = {}
    with (args.folder / "RECORDS.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            postcodes[r["record_id"]] = normalise_postcode(r["postcode"])
            if nhs := normalise_nhs_number(r["nhs_number"]):
                by_nhs.setdefault(nhs, []).append(r["record_id"])
    rng = random.Random(args.seed)
    held = [p for p in postcodes.values() if p]
    u = Counter(level(rng.choice(held), rng.choice(held)) for _ in range(args.pairs))
    truth_csv = args.folder / "TRUTH.csv"
    truth: dict[str, str] = {}
    if truth_csv.exists():
        with truth_csv.open(newline="", encoding="utf-8") as f:
            truth = {r["query_id"]: r["record_id"] for r in csv.DictReader(f)}
    m_linked: Counter[str] = Counter()
    m_truth: Counter[str] = Counter()
    with (args.folder / "QUERIES.csv").open(newline="", encoding="utf-8") as f:
        for q in csv.DictReader(f):
            qp = normalise_postcode(q["postcode"])
            linked = by_nhs.get(normalise_nhs_number(q["nhs_number"]) or "", [])
            if len(linked) == 1:
                m_linked[level(qp, postcodes[linked[0]])] += 1
            if rid := truth.get(q["query_id"]):
                m_truth[level(qp, postcodes[rid])] += 1
    print(f"{len(held):,} records with a postcode: {len(set(held)):,} units, "
          f"{len({p[:-2] for p in held}):,} sectors, "
          f"{len({p.split(' ')[0] for p in held}):,} districts")
    _print("m from pairs linked by NHS number", m_linked, u)
    if truth:
        _print("m from TRUTH.csv (every known query)", m_truth, u)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
