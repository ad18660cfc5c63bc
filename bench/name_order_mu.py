"""Given and family names the wrong way round: how often, for the same person, and its weight.

    .venv/bin/python -m bench.name_order_mu /tmp/r7    # a --work folder of bench.match_eval

`scoring.compare` also reads a query's names the other way round (given <-> family) and
keeps the better reading, less `W_NAME_ORDER_SWAPPED`. The names' own weights already
price how rare it is for a stranger's names to agree (the u side: a stranger's given name
equal to the query's surname is as rare as that name is among given names), so the
reading's cost is the m side alone: log2 of the share of true pairs whose names were
given the wrong way round, against the share given the right way. That share is counted
on query/record pairs linked by an agreeing NHS number held by exactly one record, and on
every known query when TRUTH.csv is there (pairs with both names on both sides).
"""

from __future__ import annotations

import math
from collections import Counter

from agency_adapters.matching.normalise import name_tokens
from agency_adapters.matching.scoring import _PRIOR_SCORER, _family_weight, _given_weight
from bench.mu import arg_parser, labelled_pairs, read_records, read_truth

Names = tuple[tuple[str, ...], tuple[str, ...]]  # (given words, family words)


def reading(q: Names, r: Names) -> str:
    """`swapped` if the names agree only the other way round, `direct` otherwise."""
    (qg, qf), (rg, rf) = q, r
    s = _PRIOR_SCORER
    direct = _family_weight(qf, (), rf, (), s, "different")[1] + _given_weight(qg, rg, (), s)[1]
    sw_f = _family_weight(qg, (), rf, (), s, "different")[1]
    sw_g = _given_weight(qf, rg, (), s)[1]
    return "swapped" if sw_f > 0 and sw_g > 0 and sw_f + sw_g > direct else "direct"


def main(argv: list[str] | None = None) -> int:
    """Print the share of true pairs whose names were given the wrong way round."""
    args = arg_parser(__doc__).parse_args(argv)
    names, by_nhs = read_records(
        args.folder, lambda r: (name_tokens(r["given_name"]), name_tokens(r["family_name"])))
    truth = read_truth(args.folder)
    m: dict[str, Counter[str]] = {"linked": Counter(), "truth": Counter()}
    for q, linked, true_id in labelled_pairs(args.folder, by_nhs, truth):
        qn = (name_tokens(q["given_name"]), name_tokens(q["family_name"]))
        if not (qn[0] and qn[1]):
            continue
        for src, rid in (("linked", linked), ("truth", true_id)):
            if rid and names[rid][0] and names[rid][1]:
                m[src][reading(qn, names[rid])] += 1
    for src, title in (("linked", "pairs linked by NHS number"),
                       ("truth", "TRUTH.csv (every known query)")):
        c = m[src]
        n = c["direct"] + c["swapped"]
        if not n:
            continue
        cost = f"{math.log2(c['swapped'] / c['direct']):+.2f} bits" if c["swapped"] else "n/a"
        print(f"{title}: {n:,} pairs, names the wrong way round {c['swapped']:,} "
              f"({c['swapped'] / n:.4f}); cost of that reading log2(swapped/direct) {cost}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
