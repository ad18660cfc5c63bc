"""Shared parts of the m/u measuring tools (`bench.postcode_mu`, `bench.name_edits_mu`,
`bench.dob_mu`, `bench.name_order_mu`).

Each reads an evaluation folder (RECORDS.csv, QUERIES.csv and, when present, TRUTH.csv),
count how often each comparison level occurs for the same person (m) and for two different
people (u), and print log2(m/u) per level: the weight a level earns in bits.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from agency_adapters.matching.normalise import normalise_nhs_number

T = TypeVar("T")


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


def read_records(folder: Path, value: Callable[[dict[str, str]], T]
                 ) -> tuple[dict[str, T], dict[str, list[str]]]:
    """`value` of each record in RECORDS.csv by record id, and the ids holding each valid
    NHS number (a number held by one record links a query to it without TRUTH.csv)."""
    values: dict[str, T] = {}
    by_nhs: dict[str, list[str]] = {}
    with (folder / "RECORDS.csv").open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            values[r["record_id"]] = value(r)
            if nhs := normalise_nhs_number(r["nhs_number"]):
                by_nhs.setdefault(nhs, []).append(r["record_id"])
    return values, by_nhs


def labelled_pairs(folder: Path, by_nhs: dict[str, list[str]], truth: dict[str, str]
                   ) -> Iterator[tuple[dict[str, str], str, str]]:
    """(query row, the record its NHS number links it to, its true record) for each query
    in QUERIES.csv; either id is "" when there is none."""
    with (folder / "QUERIES.csv").open(newline="", encoding="utf-8") as f:
        for q in csv.DictReader(f):
            linked = by_nhs.get(normalise_nhs_number(q["nhs_number"]) or "", [])
            yield q, linked[0] if len(linked) == 1 else "", truth.get(q["query_id"], "")


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
