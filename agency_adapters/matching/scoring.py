"""Fellegi–Sunter style comparison of a query with one candidate.

Each field comparison yields a weight in bits: log2(m/u), where m is how often
the outcome happens for the same person and u how often for two different
people. Agreement on a rare value is strong evidence; disagreement counts
against. A field absent on either side contributes nothing. The weights are
approximate priors for a local-authority population, tuned against the
generated evaluation set (see `docs/matching.md`); the total is the match
score, so "a verified identifier agreement counts for more than names" holds
by construction (NHS agreement ~ +23 bits, name + DOB ~ +25 bits together).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import JaroWinkler, Levenshtein

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.nicknames import equivalent
from agency_adapters.matching.normalise import (
    fold,
    name_tokens,
    normalise_nhs_number,
    normalise_postcode,
    normalise_sex,
    normalise_upn,
    parse_dob,
    postcode_district,
    postcode_sector,
)

# --- weights (bits). Names: m/u from common-surname frequencies in England and Wales.
W_ID_AGREE = 23.0        # NHS number / UPN: valid on both sides and equal
W_ID_DISAGREE = -12.0    # valid on both sides and different: different people (or a merge error)
W_DOB_EXACT = 12.0
W_DOB_SWAPPED = 9.0      # day and month exchanged
W_DOB_NEAR = 6.0         # one field off by a keying slip (one digit, or year +/- 1)
W_DOB_DISAGREE = -10.0
W_FAMILY_EXACT = 8.0
W_FAMILY_PART = 6.5      # one word of a double-barrelled name, or a previous surname
W_FAMILY_FUZZY = 5.0     # Jaro-Winkler >= 0.9 (typo)
W_FAMILY_DISAGREE = -5.0
W_GIVEN_EXACT = 7.0
W_GIVEN_NICKNAME = 5.5
W_GIVEN_FUZZY = 4.5
W_GIVEN_INITIAL = 1.0
W_GIVEN_DISAGREE = -8.0  # strong: twins share everything else
W_SEX_AGREE = 0.5
W_SEX_DISAGREE = -6.0
W_POSTCODE_EXACT = 5.0
W_POSTCODE_SECTOR = 2.5
W_POSTCODE_DISTRICT = 1.0
W_ADDRESS_EXACT = 2.0

FUZZY_NAME = 0.9


@dataclass(frozen=True)
class Comparison:
    """The weight of one candidate and what supported it."""

    weight: float
    identifier_agrees: bool      # a valid NHS number or UPN agrees
    identifier_conflicts: bool   # a valid NHS number or UPN on both sides disagrees
    dob_agrees: bool             # exact or a supported keying error
    family_agrees: bool
    given_agrees: bool


def _name_variants(name: str, others: tuple[str, ...]) -> list[tuple[str, ...]]:
    out = [name_tokens(name)] if name_tokens(name) else []
    out.extend(t for o in others if (t := name_tokens(o)))
    return out


def compare_family(q: tuple[str, ...], c: tuple[str, ...]) -> float:
    """Weight of two surnames given as word tuples (double-barrelled names are several words)."""
    if q == c:
        return W_FAMILY_EXACT
    qs, cs = " ".join(q), " ".join(c)
    if qs.replace(" ", "") == cs.replace(" ", ""):
        return W_FAMILY_EXACT
    if set(q) & set(c):
        return W_FAMILY_PART
    if JaroWinkler.similarity(qs, cs) >= FUZZY_NAME:
        return W_FAMILY_FUZZY
    if any(JaroWinkler.similarity(a, b) >= 0.93 for a in q for b in c if len(a) > 3):
        return W_FAMILY_FUZZY - 1.0
    return W_FAMILY_DISAGREE


def compare_given(q: tuple[str, ...], c: tuple[str, ...]) -> float:
    """Weight of two given names (first word decides; nicknames and typos tolerated)."""
    a, b = q[0], c[0]
    if a == b:
        return W_GIVEN_EXACT
    if equivalent(a, b):
        return W_GIVEN_NICKNAME
    if len(a) > 1 and len(b) > 1 and JaroWinkler.similarity(a, b) >= FUZZY_NAME \
            and Levenshtein.distance(a, b) <= 2:
        return W_GIVEN_FUZZY
    # A middle name used as the first name ("Mary Jane" known as "Jane").
    if a in c[1:] or b in q[1:]:
        return W_GIVEN_NICKNAME - 1.0
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return W_GIVEN_INITIAL
    return W_GIVEN_DISAGREE


def compare_dob(q: date, c: date) -> tuple[float, bool]:
    """Weight of two dates of birth, and whether they agree (exactly or by a keying error)."""
    if q == c:
        return W_DOB_EXACT, True
    if q.year == c.year and q.day == c.month and q.month == c.day:
        return W_DOB_SWAPPED, True
    same = (q.year == c.year) + (q.month == c.month) + (q.day == c.day)
    if same == 2:
        if q.year != c.year and abs(q.year - c.year) == 1:
            return W_DOB_NEAR, True
        qs, cs = q.isoformat(), c.isoformat()
        if sum(x != y for x, y in zip(qs, cs, strict=True)) == 1:
            return W_DOB_NEAR, True
        if q.year != c.year and Levenshtein.distance(str(q.year), str(c.year)) == 1:
            return W_DOB_NEAR - 1.0, True
    return W_DOB_DISAGREE, False


def compare(query: QueryIdentifiers, person: Person) -> Comparison:
    """Compare a query with one candidate: total weight and which fields agree."""
    weight = 0.0
    id_agree = id_conflict = False
    for qv, cv, norm in ((query.nhs_number, person.nhs_number, normalise_nhs_number),
                         (query.upn, person.upn, normalise_upn)):
        qn, cn = norm(qv), norm(cv)
        if qn is not None and cn is not None:
            if qn == cn:
                weight += W_ID_AGREE
                id_agree = True
            else:
                weight += W_ID_DISAGREE
                id_conflict = True

    dob_agrees = False
    qd, cd = parse_dob(query.date_of_birth), parse_dob(person.date_of_birth)
    if qd is not None and cd is not None:
        w, dob_agrees = compare_dob(qd, cd)
        weight += w

    family_agrees = False
    qf = _name_variants(query.family_name, ())
    cf = _name_variants(person.family_name, person.other_names)
    if qf and cf:
        w = max(compare_family(a, b) for a in qf for b in cf)
        # A surname found only among the other (previous) names is slightly weaker.
        if w == W_FAMILY_EXACT and compare_family(qf[0], cf[0]) != W_FAMILY_EXACT:
            w = W_FAMILY_PART
        # The query may carry the previous name in other_names.
        for o in _name_variants("", query.other_names):
            w = max(w, min(W_FAMILY_PART, compare_family(o, cf[0])))
        weight += w
        family_agrees = w > 0

    given_agrees = False
    qg = name_tokens(query.given_name)
    cg = name_tokens(person.given_name)
    if qg and cg:
        w = compare_given(qg, cg)
        if w < 0:
            for alias in person.other_names:
                at = name_tokens(alias)
                if at:
                    w = max(w, min(W_GIVEN_NICKNAME, compare_given(qg, at)))
        weight += w
        given_agrees = w > 0

    qs, cs = normalise_sex(query.sex), normalise_sex(person.sex)
    if "unknown" not in (qs, cs):
        weight += W_SEX_AGREE if qs == cs else W_SEX_DISAGREE

    qp, cp = normalise_postcode(query.postcode), normalise_postcode(person.postcode)
    if qp is not None and cp is not None:
        # Addresses go stale: a different postcode is weak evidence either way, so no penalty.
        if qp == cp:
            weight += W_POSTCODE_EXACT
            if query.address and fold(query.address) == fold(person.address):
                weight += W_ADDRESS_EXACT
        elif postcode_sector(qp) == postcode_sector(cp):
            weight += W_POSTCODE_SECTOR
        elif postcode_district(qp) == postcode_district(cp):
            weight += W_POSTCODE_DISTRICT

    return Comparison(weight, id_agree, id_conflict, dob_agrees, family_agrees, given_agrees)
