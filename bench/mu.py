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
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

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


@dataclass(frozen=True)
class FieldLevels(Generic[T]):
    """The levels of one field (a date of birth, a postcode) counted on a folder."""

    held: list[T]  # the records' values, missing ones left out
    u: Counter[str]  # on random pairs of records
    m_linked: Counter[str]  # on query/record pairs linked by NHS number
    m_truth: Counter[str]  # on every known query (empty without TRUTH.csv)
    has_truth: bool

    def print(self, levels: Sequence[str], what: str) -> None:
        """m, u and the weight of each level, from linked pairs and (if known) from the truth."""
        for title, m in (("m from pairs linked by NHS number", self.m_linked),
                         ("m from TRUTH.csv (every known query)", self.m_truth)):
            if m is self.m_linked or self.has_truth:
                print_levels(title, m, self.u, levels,
                             note=f" ({m['missing']:,} with {what} missing left out)")


def count_field_levels(args: argparse.Namespace, value: Callable[[dict[str, str]], T | None],
                       level: Callable[[T | None, T | None], str]) -> FieldLevels[T]:
    """Count `level` of one field, read by `value` from a record's or a query's row."""
    values, by_nhs = read_records(args.folder, value)
    rng = random.Random(args.seed)
    held = [v for v in values.values() if v is not None]
    u = Counter(level(rng.choice(held), rng.choice(held)) for _ in range(args.pairs))
    truth = read_truth(args.folder)
    m_linked: Counter[str] = Counter()
    m_truth: Counter[str] = Counter()
    for q, linked, rid in labelled_pairs(args.folder, by_nhs, truth):
        qv = value(q)
        if linked:
            m_linked[level(qv, values[linked])] += 1
        if rid:
            m_truth[level(qv, values[rid])] += 1
    return FieldLevels(held, u, m_linked, m_truth, bool(truth))
