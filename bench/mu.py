"""Shared parts of the m/u measuring tools (`bench.postcode_mu`, `bench.name_edits_mu`).

Both read an evaluation folder (RECORDS.csv, QUERIES.csv and, when present, TRUTH.csv),
count how often each comparison level occurs for the same person (m) and for two different
people (u), and print log2(m/u) per level: the weight a level earns in bits.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path


def arg_parser(doc: str | None) -> argparse.ArgumentParser:
    """The tools' common command line: FOLDER, --pairs, --seed."""
    ap = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    ap.add_argument("folder", type=Path, help="holds RECORDS.csv and QUERIES.csv")
    ap.add_argument("--pairs", type=int, default=1_000_000, help="random pairs for u")
    ap.add_argument("--seed", type=int, default=1)
    return ap


def read_truth(folder: Path) -> dict[str, str]:
    """query_id -> record_id from TRUTH.csv, or empty when the folder has none."""
    path = folder / "TRUTH.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        return {r["query_id"]: r["record_id"] for r in csv.DictReader(f)}


def print_levels(title: str, m: Counter[str], u: Counter[str], levels: Sequence[str],
                 *, note: str = "") -> None:
    """One line per level: m, u and the weight log2(m/u)."""
    m_n = sum(m[k] for k in levels)
    u_n = sum(u[k] for k in levels)
    print(f"{title}: {m_n:,} pairs{note}")
    width = max(len(k) for k in levels) + 1
    for k in levels:
        mk, uk = m[k] / m_n if m_n else 0.0, u[k] / u_n
        w = f"{math.log2(mk / uk):+6.2f}" if mk and uk else "   n/a"
        print(f"  {k:<{width}} m {mk:.4f} ({m[k]:>5,})  u {uk:.6f}  weight {w} bits")
