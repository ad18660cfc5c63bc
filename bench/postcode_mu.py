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

import random
from collections import Counter

from agency_adapters.matching.normalise import normalise_postcode
from bench.mu import arg_parser, labelled_pairs, print_levels, read_records, read_truth

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


def main(argv: list[str] | None = None) -> int:
    """Print m, u and log2(m/u) for each postcode level of the folder's data."""
    args = arg_parser(__doc__).parse_args(argv)
    postcodes, by_nhs = read_records(args.folder, lambda r: normalise_postcode(r["postcode"]))
    rng = random.Random(args.seed)
    held = [p for p in postcodes.values() if p]
    u = Counter(level(rng.choice(held), rng.choice(held)) for _ in range(args.pairs))
    truth = read_truth(args.folder)
    m_linked: Counter[str] = Counter()
    m_truth: Counter[str] = Counter()
    for q, linked, rid in labelled_pairs(args.folder, by_nhs, truth):
        qp = normalise_postcode(q["postcode"])
        if linked:
            m_linked[level(qp, postcodes[linked])] += 1
        if rid:
            m_truth[level(qp, postcodes[rid])] += 1
    print(f"{len(held):,} records with a postcode: {len(set(held)):,} units, "
          f"{len({p[:-2] for p in held}):,} sectors, "
          f"{len({p.split(' ')[0] for p in held}):,} districts")
    for title, m in (("m from pairs linked by NHS number", m_linked),
                     ("m from TRUTH.csv (every known query)", m_truth)):
        if m is m_linked or truth:
            print_levels(title, m, u, LEVELS,
                         note=f" ({m['missing']:,} with a postcode missing left out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
