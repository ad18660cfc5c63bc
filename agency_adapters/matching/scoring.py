"""Fellegi–Sunter style comparison of a query with one candidate.

Each field comparison yields a weight in bits, log2(m/u): m is how often the
outcome happens when both sides are the same person, u how often for two
different people in the same block. Agreement on a rare value is strong
evidence; disagreement counts against; a field missing on either side counts
for nothing. The total is the match score. Weights are set from UK population
frequencies and checked against the generated evaluation set (`docs/matching.md`):

- a valid NHS number or UPN agreeing: +23 (a verified identifier outweighs any name);
- date of birth exact +12, day/month swapped +9, one keying slip +6, swapped and a slip 0
  (two errors: no evidence either way, measured), otherwise -10;
- surname +8 exact, +6.5 one part of a double-barrelled or previous surname, +5 a typo,
  -3 different (people change surnames; a small penalty keeps married women findable),
  -4.5 on a man's record (men rarely change theirs: measured by the record's sex);
- given name +7 exact, +5.5 nickname, +4.5 typo, -8 different (twins differ only here);
- a typo of two keying errors instead of one: 3.5 bits less (measured);
- postcode +12 exact (a unit holds ~40 of a million people, so a stranger rarely shares it),
  -3 otherwise (addresses go stale), whether or not the sector or district agrees: measured
  m/u gives a shared sector or district no more weight than a different one (see below).

When the store's name frequencies are known (`frequencies.NameFrequencies`, passed to
`prepare`), name agreements are shifted by the name's rarity: an exact surname is worth
log2(1/p) bits (5.6 for Smith, up to 12 for a rare one) instead of a flat 8, and the
partial levels move with it (typos and nicknames by at most +2, so a rare-looking typo
cannot buy certainty). Disagreement weights do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import OSA, JaroWinkler

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.nicknames import equivalent, short_forms
from agency_adapters.matching.normalise import (
    fold,
    name_tokens,
    normalise_nhs_number,
    normalise_postcode,
    normalise_sex,
    normalise_upn,
    parse_dob,
    swapped_dob,
)

W_ID_AGREE = 23.0
W_ID_DISAGREE = -12.0
W_DOB_EXACT = 12.0
W_DOB_SWAPPED = 9.0
W_DOB_NEAR = 6.0
# Day and month swapped *and* one keying slip (two errors: a swap in the referral and a
# slip in the record, or the other way round). Measured at 1,000,000 people
# (`bench/dob_mu.py`, seeds 7/11/13/17): m ~0.0006 (9 of 15,592 true pairs; 1 of 1,850
# linked by NHS number), u ~0.00043 on random pairs: +0.3-0.4 bits, i.e. no evidence
# either way -- like a date missing, not the -10 of two different dates.
W_DOB_SWAPPED_SLIP = 0.0
W_DOB_DISAGREE = -10.0
W_FAMILY_EXACT = 8.0
W_FAMILY_PART = 6.5
W_FAMILY_FUZZY = 5.0
W_FAMILY_DISAGREE = -3.0
# A different surname on a man's record. People change surnames mostly at marriage, and in
# England that is mostly women, so for a man a different surname is stronger evidence of
# a different person. Measured at 1,000,000 people (`bench/name_edits_mu.py`, split by the
# record's sex): surname "other" -4.6 bits for men against -3.4 to -3.8 for women, seeds
# 7 / 13 / 19 (docs/matching.md, "Recall 6"). Women keep `W_FAMILY_DISAGREE`.
W_FAMILY_DISAGREE_MALE = -4.5
W_GIVEN_EXACT = 7.0
W_GIVEN_NICKNAME = 5.5
W_GIVEN_FUZZY = 4.5
W_GIVEN_MIDDLE = 3.0     # the query's given name is the record's middle name (or vice versa)
W_GIVEN_INITIAL = 1.0
W_GIVEN_DISAGREE = -8.0
# Given and family names entered the wrong way round. Set by hand; the measured cost of the
# reading is larger (`bench/name_order_mu.py`: log2(swapped / direct) among true pairs,
# -4.5 to -5.1 bits at 1,000,000 people), but at -4.5 the evaluation found nobody more and
# lost 5-8 sure answers a seed (docs/matching.md, "Recall 5"), so it was left as it is.
W_NAME_ORDER_SWAPPED = -1.0
W_SEX_AGREE = 0.5
W_SEX_DISAGREE = -6.0
W_POSTCODE_EXACT = 12.0   # m ~ 0.55 (agency addresses go stale), u ~ 1/21,000 units: ~13 bits
W_POSTCODE_DISAGREE = -3.0   # m ~ 0.05-0.1 (moved, stale record), u ~ 0.99
# No partial level for a shared sector or district. Estimated on 1,000,000 people (seed 7,
# `bench/postcode_mu.py`): of query/record pairs linked by an agreeing NHS number, 0.2% share
# the sector only (u 0.6%: -1.5 bits) and 0.7% the district only (u 5.0%: -2.9 bits), no more
# than a different district (5.0% vs u 94%: -4.2 bits). A stale address is rarely in the same
# sector as the current one, so the +2.5 / +1 it used to add only lifted same-named strangers
# who live near the referral address (measured: fewer wrong sure answers, no recall lost).
# An agency whose people mostly move locally can re-measure with the same tool.
W_ADDRESS_EXACT = 2.0

FUZZY_JARO_WINKLER = 0.9
# A name two keying errors away (Jaro-Winkler close, two edits: Loouise / Louis) is weaker
# evidence than one (Loouise / Louise). Measured at 1,000,000 people (seeds 7 and 11, m on
# the known queries and on NHS-linked pairs, u on random record pairs): a given name one
# edit off weighs ~7.0 bits, two edits off ~3.5 (20 and 21 pairs); surnames fewer pairs,
# a larger gap. The typo levels above are for one error; the second costs this.
W_SECOND_EDIT = -3.5
#: Most a typo or nickname agreement gains from the rarity of the name (bits).
MAX_PARTIAL_RARITY_BONUS = 2.0


@dataclass(frozen=True)
class Comparison:
    """The weight of one candidate and what supported it."""

    weight: float
    identifier_agrees: bool      # a valid NHS number or UPN agrees
    identifier_conflicts: bool   # a valid NHS number or UPN on both sides disagrees
    dob_agrees: bool             # exact or a supported keying error
    family_agrees: bool
    given_agrees: bool
    contradicted: bool = False   # given name or date of birth present on both sides and different
    postcode_agrees: bool = False  # the full postcode agrees
    dob_compared: bool = False     # both sides have a date of birth


@dataclass(frozen=True)
class PreparedQuery:
    """A query normalised once, then compared with every candidate."""

    given: tuple[str, ...]
    family: tuple[str, ...]
    other_family: tuple[tuple[str, ...], ...]
    dob: date | None
    sex: str
    postcode: str | None
    address: str
    nhs: str | None
    upn: str | None
    frequencies: NameFrequencies | None = None


def prepare(query: QueryIdentifiers,
            frequencies: NameFrequencies | None = None) -> PreparedQuery:
    """Normalise `query` for scoring (with the store's name frequencies, if known)."""
    return PreparedQuery(
        given=name_tokens(query.given_name), family=name_tokens(query.family_name),
        other_family=tuple(t for o in query.other_names if (t := name_tokens(o))),
        dob=parse_dob(query.date_of_birth), sex=normalise_sex(query.sex),
        postcode=normalise_postcode(query.postcode), address=fold(query.address),
        nhs=normalise_nhs_number(query.nhs_number), upn=normalise_upn(query.upn),
        frequencies=frequencies)


def _edits_weight(a: str, b: str) -> float:
    """0 for one keying error between two similar names, `W_SECOND_EDIT` for two."""
    return W_SECOND_EDIT if OSA.distance(a, b) > 1 else 0.0


def _similar(a: str, b: str) -> bool:
    """A keying error apart: one edit (incl. a transposition), or Jaro-Winkler close."""
    if min(len(a), len(b)) >= 2 and max(len(a), len(b)) >= 3 and OSA.distance(a, b) <= 1:
        return True
    return (len(a) > 3 and len(b) > 3 and JaroWinkler.similarity(a, b) >= FUZZY_JARO_WINKLER
            and OSA.distance(a, b) <= 2)


def _family_rarity(freq: NameFrequencies | None, tokens: tuple[str, ...]) -> float:
    """Bits by which agreeing on this surname beats the flat weight (negative if common)."""
    return freq.family_weight(tokens, W_FAMILY_EXACT) - W_FAMILY_EXACT if freq else 0.0


def _given_rarity(freq: NameFrequencies | None, token: str) -> float:
    return freq.given_weight(token, W_GIVEN_EXACT) - W_GIVEN_EXACT if freq else 0.0


def compare_family(q: tuple[str, ...], c: tuple[str, ...],
                   freq: NameFrequencies | None = None,
                   disagree: float = W_FAMILY_DISAGREE) -> float:
    """Weight of two surnames given as word tuples (double-barrelled names are several words).

    With `freq`, agreement weights move with the rarity of the candidate's surname;
    `disagree` is the weight of two different surnames (see `family_disagree_weight`).
    """
    if q == c or "".join(q) == "".join(c):
        return W_FAMILY_EXACT + _family_rarity(freq, c)
    if shared := set(q) & set(c):
        return W_FAMILY_PART + min(_family_rarity(freq, (t,)) for t in shared)
    bonus = min(_family_rarity(freq, c), MAX_PARTIAL_RARITY_BONUS)
    if _similar(qs := " ".join(q), cs := " ".join(c)):
        return W_FAMILY_FUZZY + bonus + _edits_weight(qs, cs)
    if len(q) + len(c) > 2 and any(_similar(a, b) for a in q for b in c if len(a) > 3):
        return W_FAMILY_FUZZY - 1.0 + bonus  # a typo in one part of a double-barrelled name
    return disagree


def family_disagree_weight(sex: str) -> float:
    """What two different surnames weigh for a candidate of this (normalised) sex."""
    return W_FAMILY_DISAGREE_MALE if sex == "male" else W_FAMILY_DISAGREE


def _nickname_typo(a: str, b: str) -> bool:
    """`b` is a mistyped form of a name equivalent to `a` (both long enough to judge).

    One keying error only: the looser `_similar` (Jaro-Winkler, two edits) would make a
    twin's name a typo of a nickname ("Freddie" two letters from "Eddie", for "Teddy").
    """
    return len(b) >= 5 and any(len(n) >= 5 and OSA.distance(n, b) <= 1 for n in short_forms(a))


def compare_given(q: tuple[str, ...], c: tuple[str, ...],
                  freq: NameFrequencies | None = None) -> float:
    """Weight of two given names (first word decides; nicknames and typos tolerated).

    With `freq`, agreement weights move with the rarity of the candidate's given name.
    """
    a, b = q[0], c[0]
    if a == b:
        return W_GIVEN_EXACT + _given_rarity(freq, b)
    bonus = min(_given_rarity(freq, b), MAX_PARTIAL_RARITY_BONUS)
    if equivalent(a, b):
        return W_GIVEN_NICKNAME + bonus
    if _similar(a, b):
        return W_GIVEN_FUZZY + bonus + _edits_weight(a, b)
    # A nickname on one side and a typo on the other ("Florrie" / "Florencee").
    if _nickname_typo(a, b) or _nickname_typo(b, a):
        return W_GIVEN_FUZZY - 1.0 + bonus
    if a in c[1:] or b in q[1:]:
        return W_GIVEN_MIDDLE  # known by a middle name
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return W_GIVEN_INITIAL
    return W_GIVEN_DISAGREE


def _one_slip(q: date, c: date) -> bool:
    """One keying slip apart: a digit, or the day or the year off by one (the rest equal)."""
    if (q.year == c.year) + (q.month == c.month) + (q.day == c.day) != 2:
        return False
    if abs(q.year - c.year) == 1 or abs(q.day - c.day) == 1:
        return True
    return sum(x != y for x, y in zip(q.isoformat(), c.isoformat(), strict=True)) == 1


def compare_dob(q: date, c: date) -> tuple[float, bool]:
    """Weight of two dates of birth, and whether they agree (exactly or by a keying error).

    Day and month swapped *and* one slip is two keying errors: a weak level of its own
    (`W_DOB_SWAPPED_SLIP`), not an agreement, so it never makes a match sure.
    """
    if q == c:
        return W_DOB_EXACT, True
    if q.year == c.year and q.day == c.month and q.month == c.day:
        return W_DOB_SWAPPED, True
    if _one_slip(q, c):
        return W_DOB_NEAR, True
    if (sw := swapped_dob(q)) is not None and _one_slip(sw, c):
        return W_DOB_SWAPPED_SLIP, False
    return W_DOB_DISAGREE, False


def _family_weight(qf: tuple[str, ...], q_others: tuple[tuple[str, ...], ...],
                   cf: tuple[str, ...], c_others: tuple[tuple[str, ...], ...],
                   freq: NameFrequencies | None = None,
                   disagree: float = W_FAMILY_DISAGREE) -> float:
    w = compare_family(qf, cf, freq, disagree)
    if w < W_FAMILY_EXACT + _family_rarity(freq, cf):
        # A previous surname on either side: as strong as one part of a double barrel.
        for a in (qf, *q_others):
            for b in (cf, *c_others):
                if (a, b) != (qf, cf):
                    cap = W_FAMILY_PART + min(_family_rarity(freq, b), 0.0)
                    w = max(w, min(cap, compare_family(a, b, freq, disagree)))
    return w


def _given_weight(qg: tuple[str, ...], cg: tuple[str, ...],
                  c_others: tuple[tuple[str, ...], ...],
                  freq: NameFrequencies | None = None) -> float:
    w = compare_given(qg, cg, freq)
    if w < 0:
        for alias in c_others:
            w = max(w, min(W_GIVEN_NICKNAME, compare_given(qg, alias, freq)))
    return w


def compare(query: PreparedQuery | QueryIdentifiers, person: Person) -> Comparison:
    """Compare a query with one candidate: total weight and which fields agree."""
    q = query if isinstance(query, PreparedQuery) else prepare(query)
    weight = 0.0
    id_agree = id_conflict = False
    for qn, cv, norm in ((q.nhs, person.nhs_number, normalise_nhs_number),
                         (q.upn, person.upn, normalise_upn)):
        if qn is None or not cv:
            continue
        cn = norm(cv)
        if cn is None:
            continue
        if qn == cn:
            weight += W_ID_AGREE
            id_agree = True
        else:
            weight += W_ID_DISAGREE
            id_conflict = True

    dob_agrees = contradicted = False
    cd = parse_dob(person.date_of_birth)
    dob_compared = q.dob is not None and cd is not None
    if q.dob is not None and cd is not None:
        w, dob_agrees = compare_dob(q.dob, cd)
        weight += w
        contradicted = not dob_agrees

    cf = name_tokens(person.family_name)
    cg = name_tokens(person.given_name)
    c_others = tuple(t for o in person.other_names if (t := name_tokens(o)))
    fam_w = giv_w = 0.0
    has_f = bool(q.family and cf)
    has_g = bool(q.given and cg)
    freq = q.frequencies
    cs = normalise_sex(person.sex)
    fam_disagree = family_disagree_weight(cs)
    if has_f:
        fam_w = _family_weight(q.family, q.other_family, cf, c_others, freq, fam_disagree)
    if has_g:
        giv_w = _given_weight(q.given, cg, c_others, freq)
    names_w = fam_w + giv_w
    if q.family and q.given and cf and cg and (q.family != cf or q.given[0] != cg[0]):
        # Given and family names may have been entered the wrong way round.
        sw_f = _family_weight(q.given, (), cf, c_others, freq, fam_disagree)
        sw_g = _given_weight(q.family, cg, c_others, freq)
        if sw_f + sw_g + W_NAME_ORDER_SWAPPED > names_w:
            fam_w, giv_w = sw_f, sw_g
            names_w = sw_f + sw_g + W_NAME_ORDER_SWAPPED
    weight += names_w
    family_agrees = has_f and fam_w > 0
    given_agrees = has_g and giv_w > 0
    contradicted = contradicted or (has_g and giv_w <= W_GIVEN_DISAGREE)

    if "unknown" not in (q.sex, cs):
        weight += W_SEX_AGREE if q.sex == cs else W_SEX_DISAGREE

    postcode_agrees = False
    if q.postcode is not None and person.postcode:
        cp = normalise_postcode(person.postcode)
        if cp is not None:
            postcode_agrees = q.postcode == cp
            # Addresses go stale, so a different postcode costs little (-3), but it costs:
            # most true matches agree, and a same-name-same-DOB stranger usually does not.
            if q.postcode == cp:
                weight += W_POSTCODE_EXACT
                if q.address and q.address == fold(person.address):
                    weight += W_ADDRESS_EXACT
            else:
                weight += W_POSTCODE_DISAGREE

    return Comparison(weight, id_agree, id_conflict, dob_agrees, family_agrees, given_agrees,
                      contradicted, postcode_agrees, dob_compared)
