"""Name typo levels: m and u of one and of two keying errors, measured on an evaluation folder.

    .venv/bin/python -m bench.name_edits_mu /tmp/r7    # a --work folder of bench.match_eval

Levels of a query name against a record's name (first given name; whole surname): exact
(for surnames also one shared part), one edit, two edits (Jaro-Winkler close, as
`scoring._similar` accepts), other. m is counted on query/record pairs linked by an
agreeing NHS number held by exactly one record, and on every known query when TRUTH.csv
is there; u on random pairs of records. The weight of a level is log2(m/u) bits: the gap
between one and two edits is what `scoring.W_SECOND_EDIT` charges. Surname levels are also
printed by the sex of the (second) record: a different surname weighs more against a man,
who rarely changes his, than against a woman (`scoring.W_FAMILY_DISAGREE_MALE`).
"""

from __future__ import annotations

import random
from collections import Counter

from rapidfuzz.distance import OSA

from agency_adapters.matching.normalise import name_tokens, normalise_sex
from agency_adapters.matching.scoring import _similar
from bench.mu import arg_parser, labelled_pairs, print_levels, read_records, read_truth

LEVELS = ("exact", "edit1", "edit2", "other")
Names = tuple[tuple[str, ...], tuple[str, ...], str]  # (given words, family words, sex)
SEXES = ("female", "male")


def given_level(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    """The level at which two given names (first word) agree."""
    if not a or not b:
        return "missing"
    if a[0] == b[0]:
        return "exact"
    if _similar(a[0], b[0]):
        return "edit1" if OSA.distance(a[0], b[0]) <= 1 else "edit2"
    return "other"


def family_level(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    """The level at which two surnames (all words) agree."""
    if not a or not b:
        return "missing"
    x, y = " ".join(a), " ".join(b)
    if x == y or set(a) & set(b):
        return "exact"
    if _similar(x, y):
        return "edit1" if OSA.distance(x, y) <= 1 else "edit2"
    return "other"


def main(argv: list[str] | None = None) -> int:
    """Print m, u and log2(m/u) for the given-name and surname levels of the folder's data."""
    args = arg_parser(__doc__).parse_args(argv)
    names, by_nhs = read_records(
        args.folder, lambda r: (name_tokens(r["given_name"]), name_tokens(r["family_name"]),
                                normalise_sex(r["sex"])))
    rng = random.Random(args.seed)
    held = list(names.values())
    u_given: Counter[str] = Counter()
    u_family: Counter[str] = Counter()
    u_by_sex: dict[str, Counter[str]] = {x: Counter() for x in SEXES}
    for _ in range(args.pairs):
        a, b = rng.choice(held), rng.choice(held)
        u_given[given_level(a[0], b[0])] += 1
        u_family[f := family_level(a[1], b[1])] += 1
        if b[2] in u_by_sex:
            u_by_sex[b[2]][f] += 1
    truth = read_truth(args.folder)
    m: dict[str, tuple[Counter[str], Counter[str]]] = {
        "linked": (Counter(), Counter()), "truth": (Counter(), Counter())}
    m_by_sex: dict[tuple[str, str], Counter[str]] = {
        (src, x): Counter() for src in m for x in SEXES}
    for q, linked, true_id in labelled_pairs(args.folder, by_nhs, truth):
        qn = (name_tokens(q["given_name"]), name_tokens(q["family_name"]))
        for src, rid in (("linked", linked), ("truth", true_id)):
            if rid:
                m[src][0][given_level(qn[0], names[rid][0])] += 1
                m[src][1][f := family_level(qn[1], names[rid][1])] += 1
                if (src, names[rid][2]) in m_by_sex:
                    m_by_sex[(src, names[rid][2])][f] += 1
    for i, field in enumerate(("given name", "surname")):
        u = (u_given, u_family)[i]
        print_levels(f"{field}, m from pairs linked by NHS number", m["linked"][i], u, LEVELS)
        if truth:
            print_levels(f"{field}, m from TRUTH.csv (every known query)", m["truth"][i], u,
                         LEVELS)
    for sex in SEXES:
        print_levels(f"surname, {sex} records, m from pairs linked by NHS number",
                     m_by_sex[("linked", sex)], u_by_sex[sex], LEVELS)
        if truth:
            print_levels(f"surname, {sex} records, m from TRUTH.csv (every known query)",
                         m_by_sex[("truth", sex)], u_by_sex[sex], LEVELS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
