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

from agency_adapters.matching.normalise import normalise_postcode
from bench.mu import arg_parser, count_field_levels

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
    counts = count_field_levels(args, lambda r: normalise_postcode(r["postcode"]), level)
    held = counts.held
    print(f"{len(held):,} records with a postcode: {len(set(held)):,} units, "
          f"{len({p[:-2] for p in held}):,} sectors, "
          f"{len({p.split(' ')[0] for p in held}):,} districts")
    counts.print(LEVELS, "a postcode")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
