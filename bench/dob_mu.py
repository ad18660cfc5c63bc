"""Date-of-birth comparison levels: m and u measured on an evaluation folder, and their weights.

    .venv/bin/python -m bench.dob_mu /tmp/r7    # a --work folder of bench.match_eval

Levels of a query's date of birth against a record's, as `scoring.compare_dob` sees them:
exact; day and month swapped; one keying slip (a digit, the day or the year off by one);
day and month swapped *and* one slip (two keying errors, one on each side or both on
one); the same year and month otherwise; other. m is counted on query/record pairs
linked by an agreeing NHS number held by exactly one record, and on every known query
when TRUTH.csv is there; u on random pairs of records. The weight of a level is
log2(m/u) bits.
"""

from __future__ import annotations

from datetime import date

from agency_adapters.matching.normalise import parse_dob, swapped_dob
from agency_adapters.matching.scoring import W_DOB_NEAR, compare_dob
from bench.mu import arg_parser, count_field_levels

LEVELS = ("exact", "swapped", "slip", "swapped+slip", "year_month", "other")


def level(a: date | None, b: date | None) -> str:
    """The closest level at which two dates of birth agree (`missing` if either is)."""
    if a is None or b is None:
        return "missing"
    if a == b:
        return "exact"
    w, agrees = compare_dob(a, b)
    if agrees:
        return "slip" if w == W_DOB_NEAR else "swapped"
    if (sw := swapped_dob(a)) is not None and compare_dob(sw, b) == (W_DOB_NEAR, True):
        return "swapped+slip"
    if (a.year, a.month) == (b.year, b.month):
        return "year_month"
    return "other"


def main(argv: list[str] | None = None) -> int:
    """Print m, u and log2(m/u) for each date-of-birth level of the folder's data."""
    args = arg_parser(__doc__).parse_args(argv)
    counts = count_field_levels(args, lambda r: parse_dob(r["date_of_birth"]), level)
    counts.print(LEVELS, "a date of birth")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
