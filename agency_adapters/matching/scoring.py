"""Fellegi–Sunter comparison of a query with one candidate, level by level.

Each field of the pair falls into one level of its comparison (`model.FIELDS`), and the
level weighs log2(m/u) bits from the match model: m is how often the level occurs when
both sides are the same person, u how often for two different people. Agreement on a
rare value is strong evidence; disagreement counts against; a field missing on either
side counts for nothing. The total is the match score.

The shipped model (`model.PRIOR`) holds weights set from UK population frequencies and
checked against the generated evaluation set (`docs/matching.md`):

- a valid NHS number or UPN agreeing: +23 (a verified identifier outweighs any name); a
  query's NHS number that fails its check digit but is one digit from the record's: +8;
- date of birth exact +12, day/month swapped +9, one keying slip +6, swapped and a slip 0
  (two errors: no evidence either way, measured), otherwise -10;
- surname +8 exact, +6.5 one part of a double-barrelled or previous surname, +5 a typo,
  -3 different (people change surnames; a small penalty keeps married women findable),
  -4.5 on a man's record (men rarely change theirs: measured by the record's sex);
- given name +7 exact, +5.5 nickname, +4.5 typo, -8 different (twins differ only here);
- a typo of two keying errors instead of one: 3.5 bits less (measured);
- postcode +12 exact (a unit holds ~40 of a million people, so a stranger rarely shares it),
  -3 otherwise (addresses go stale), whether or not the sector or district agrees: measured
  m/u gives a shared sector or district no more weight than a different one.

A trained model (`training`) replaces these with m and u estimated from the agency's own
records; the levels and the rules below stay the same.

Term frequencies (`frequencies.NameFrequencies`, passed to `prepare`): name agreements
are shifted by the name's rarity: an exact surname is worth about log2(1/p) bits (5.6
for Smith, up to 12 for a rare one) instead of a flat 8, and the partial levels move
with it (typos and nicknames by at most +2, so a rare-looking typo cannot buy
certainty). Disagreement weights do not change. A trained model adjusts postcodes too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import OSA, JaroWinkler

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.blocking import phonetic
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.model import PRIOR, MatchModel, TermFrequency
from agency_adapters.matching.nicknames import equivalent, listed, short_forms
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

_W = PRIOR.weights()
# The shipped weights by their old names (tests and benchmarks refer to them).
W_ID_AGREE = _W["nhs"]["exact"]
W_ID_DISAGREE = _W["nhs"]["different"]
W_NHS_ONE_DIGIT = _W["nhs"]["one_digit"]
W_DOB_EXACT = _W["dob"]["exact"]
W_DOB_SWAPPED = _W["dob"]["swapped"]
W_DOB_NEAR = _W["dob"]["slip"]
# Day and month swapped *and* one keying slip (two errors). Measured at 1,000,000 people
# (`bench/dob_mu.py`, seeds 7/11/13/17): m ~0.0006, u ~0.00043 on random pairs: +0.3-0.4
# bits, i.e. no evidence either way -- like a date missing, not the -10 of two dates.
W_DOB_SWAPPED_SLIP = _W["dob"]["swapped_slip"]
W_DOB_DISAGREE = _W["dob"]["different"]
W_FAMILY_EXACT = _W["family"]["exact"]
W_FAMILY_PART = _W["family"]["part"]
W_FAMILY_FUZZY = _W["family"]["typo"]
W_FAMILY_DISAGREE = _W["family"]["different"]
# A different surname on a man's record: measured -4.6 bits for men against -3.4 to -3.8
# for women, seeds 7 / 13 / 19 (docs/matching.md, "Recall 6").
W_FAMILY_DISAGREE_MALE = _W["family"]["different_male"]
W_GIVEN_EXACT = _W["given"]["exact"]
W_GIVEN_NICKNAME = _W["given"]["nickname"]
W_GIVEN_FUZZY = _W["given"]["typo"]
W_GIVEN_MIDDLE = _W["given"]["middle"]
W_GIVEN_INITIAL = _W["given"]["initial"]
W_GIVEN_DISAGREE = _W["given"]["different"]
W_NAME_ORDER_SWAPPED = _W["name_order"]["reversed"]
W_SEX_AGREE = _W["sex"]["agree"]
W_SEX_DISAGREE = _W["sex"]["different"]
W_POSTCODE_EXACT = _W["postcode"]["exact"]
W_POSTCODE_DISAGREE = _W["postcode"]["different"]
W_ADDRESS_EXACT = _W["address"]["exact"]
# A name two keying errors away (Loouise / Louis) is weaker evidence than one (Loouise /
# Louise): measured ~3.5 bits less at 1,000,000 people (seeds 7 and 11).
W_SECOND_EDIT = _W["given"]["typo2"] - _W["given"]["typo"]

FUZZY_JARO_WINKLER = 0.9
#: Most a typo or nickname agreement gains from the rarity of the name (bits).
MAX_PARTIAL_RARITY_BONUS = 2.0

#: A field's level and its weight (bits, term-frequency adjustment included).
Scored = tuple[str, float]


@dataclass(frozen=True)
class Comparison:
    """The weight of one candidate and what supported it."""

    weight: float
    identifier_agrees: bool      # a valid NHS number or UPN agrees
    identifier_conflicts: bool   # a valid NHS number or UPN on both sides disagrees
    dob_agrees: bool             # exact or a supported keying error
    family_agrees: bool
    given_agrees: bool
    #: given name or date of birth present on both sides and different, or another sex
    #: with the given name no more than alike
    contradicted: bool = False
    postcode_agrees: bool = False  # the full postcode agrees
    dob_compared: bool = False     # both sides have a date of birth
    names_reversed: bool = False   # the names agree better read the other way round
    dob_exact: bool = False        # the dates of birth agree exactly
    #: both sides have a surname and they are wholly different (not a typo, a part of a
    #: double barrel, a previous surname or the same sound: Dixon and Dickson)
    family_differs: bool = False
    #: (comparison, level, weight) for each field compared; filled only when asked (`explain`)
    levels: tuple[tuple[str, str, float], ...] = ()


class _Scorer:
    """Weights of one model with one store's frequencies: level -> bits, TF adjustments."""

    __slots__ = ("family_offset", "freq", "given_offset", "model", "pc_tf", "w")

    def __init__(self, model: MatchModel, freq: NameFrequencies | None) -> None:
        self.model = model
        self.w = model.weights()
        self.freq = freq
        # A name's rarity is measured against the shipped exact weight: the partial levels
        # (typo, nickname, one part of a barrel) were set with the shipped rarity bonus.
        self.family_offset = self.w["family"]["exact"] - _W["family"]["exact"]
        self.given_offset = self.w["given"]["exact"] - _W["given"]["exact"]
        pc = model.tf.get("postcode")
        self.pc_tf = pc if pc is not None and freq is not None and freq.postcode is not None \
            else None

    def family_rarity(self, tokens: tuple[str, ...]) -> float:
        """Bits by which agreeing on this surname beats the shipped flat weight (- if common)."""
        tf = self.model.tf.get("family")
        if self.freq is None or tf is None:
            return self.family_offset
        return self.family_offset + tf.adjustment(self.freq.family.get(" ".join(tokens), 0),
                                                  self.freq.total)

    def given_rarity(self, token: str) -> float:
        """Bits by which agreeing on this given name beats the shipped flat weight."""
        tf = self.model.tf.get("given")
        if self.freq is None or tf is None:
            return self.given_offset
        return self.given_offset + tf.adjustment(self.freq.given.get(token, 0), self.freq.total)

    def postcode_rarity(self, postcode: str) -> float:
        """Bits by which agreeing on this postcode beats the level's weight (few share it)."""
        tf: TermFrequency | None = self.pc_tf
        if tf is None or self.freq is None or self.freq.postcode is None:
            return 0.0
        return tf.adjustment(self.freq.postcode.get(postcode, 0), self.freq.total)


_PRIOR_SCORER = _Scorer(PRIOR, None)


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
    #: the query's NHS number as ten digits even when its check digit fails (a typo)
    nhs_digits: str | None = None
    scorer: _Scorer = _PRIOR_SCORER


def _ten_digits(text: str) -> str | None:
    digits = "".join(c for c in text if c not in " -")
    return digits if len(digits) == 10 and digits.isdigit() else None


def prepare(query: QueryIdentifiers, frequencies: NameFrequencies | None = None,
            model: MatchModel | None = None) -> PreparedQuery:
    """Normalise `query` for scoring (with the store's frequencies and a model, if given)."""
    scorer = (_PRIOR_SCORER if model is None and frequencies is None
              else _Scorer(model or PRIOR, frequencies))
    return PreparedQuery(
        given=name_tokens(query.given_name), family=name_tokens(query.family_name),
        other_family=tuple(t for o in query.other_names if (t := name_tokens(o))),
        dob=parse_dob(query.date_of_birth), sex=normalise_sex(query.sex),
        postcode=normalise_postcode(query.postcode), address=fold(query.address),
        nhs=normalise_nhs_number(query.nhs_number), upn=normalise_upn(query.upn),
        frequencies=frequencies, nhs_digits=_ten_digits(query.nhs_number), scorer=scorer)


def _similar(a: str, b: str) -> bool:
    """A keying error apart: one edit (incl. a transposition), or Jaro-Winkler close."""
    if min(len(a), len(b)) >= 2 and max(len(a), len(b)) >= 3 and OSA.distance(a, b) <= 1:
        return True
    return (len(a) > 3 and len(b) > 3 and JaroWinkler.similarity(a, b) >= FUZZY_JARO_WINKLER
            and OSA.distance(a, b) <= 2)


def _family_level(q: tuple[str, ...], c: tuple[str, ...], s: _Scorer,
                  disagree: str = "different") -> Scored:
    """Level and weight of two surnames given as word tuples (a double barrel is several words)."""
    w = s.w["family"]
    if q == c or "".join(q) == "".join(c):
        return "exact", W_FAMILY_EXACT + s.family_rarity(c)
    if shared := set(q) & set(c):
        return "part", w["part"] + min(s.family_rarity((t,)) for t in shared)
    bonus = min(s.family_rarity(c), MAX_PARTIAL_RARITY_BONUS)
    if _similar(qs := " ".join(q), cs := " ".join(c)):
        level = "typo2" if OSA.distance(qs, cs) > 1 else "typo"
        return level, w[level] + bonus
    if len(q) + len(c) > 2 and any(_similar(a, b) for a in q for b in c if len(a) > 3):
        return "part_typo", w["part_typo"] + bonus  # a typo in one part of a double barrel
    return disagree, w[disagree]


def compare_family(q: tuple[str, ...], c: tuple[str, ...],
                   freq: NameFrequencies | None = None,
                   disagree: float = W_FAMILY_DISAGREE) -> float:
    """Weight of two surnames under the shipped model (`disagree`: two different surnames)."""
    s = _PRIOR_SCORER if freq is None else _Scorer(PRIOR, freq)
    level, weight = _family_level(q, c, s)
    return disagree if level == "different" else weight


def _disagree_level(sex: str) -> str:
    return "different_male" if sex == "male" else "different"


def family_disagree_weight(sex: str) -> float:
    """What two different surnames weigh for a candidate of this (normalised) sex."""
    return _W["family"][_disagree_level(sex)]


def _nickname_typo(a: str, b: str) -> bool:
    """`b` is a mistyped form of a name equivalent to `a` (both long enough to judge).

    One keying error only: the looser `_similar` (Jaro-Winkler, two edits) would make a
    twin's name a typo of a nickname ("Freddie" two letters from "Eddie", for "Teddy").
    """
    return len(b) >= 5 and any(len(n) >= 5 and OSA.distance(n, b) <= 1 for n in short_forms(a))


def _given_level(q: tuple[str, ...], c: tuple[str, ...], s: _Scorer) -> Scored:
    """Level and weight of two given names (first word decides; nicknames, typos tolerated)."""
    w = s.w["given"]
    a, b = q[0], c[0]
    if a == b:
        return "exact", W_GIVEN_EXACT + s.given_rarity(b)
    bonus = min(s.given_rarity(b), MAX_PARTIAL_RARITY_BONUS)
    if len(q) != len(c) and "".join(q) == "".join(c):
        return "typo", w["typo"] + bonus  # a space keyed inside the name ("Ca itlin")
    if equivalent(a, b):
        return "nickname", w["nickname"] + bonus
    if _similar(a, b):
        level = "typo2" if OSA.distance(a, b) > 1 else "typo"
        # Two names of the table two keying errors apart are two names, not one mistyped
        # (Eddie, a form of Teddy, is not Freddie: the two may be twins).
        if level == "typo" or not (listed(a) and listed(b)):
            return level, w[level] + bonus
    # A nickname on one side and a typo on the other ("Florrie" / "Florencee").
    if _nickname_typo(a, b) or _nickname_typo(b, a):
        return "nickname_typo", w["nickname_typo"] + bonus
    if a in c[1:] or b in q[1:]:
        return "middle", w["middle"]  # known by a middle name
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return "initial", w["initial"]
    return "different", w["different"]


def compare_given(q: tuple[str, ...], c: tuple[str, ...],
                  freq: NameFrequencies | None = None) -> float:
    """Weight of two given names under the shipped model (with `freq`: by rarity)."""
    return _given_level(q, c, _PRIOR_SCORER if freq is None else _Scorer(PRIOR, freq))[1]


def _one_slip(q: date, c: date) -> bool:
    """One keying slip apart: a digit, or the day or the year off by one (the rest equal)."""
    if (q.year == c.year) + (q.month == c.month) + (q.day == c.day) != 2:
        return False
    if abs(q.year - c.year) == 1 or abs(q.day - c.day) == 1:
        return True
    if q.year != c.year:
        return _one_digit_apart(q.year, c.year)
    if q.month != c.month:
        return _one_digit_apart(q.month, c.month)
    return _one_digit_apart(q.day, c.day)


def _one_digit_apart(a: int, b: int) -> bool:
    """Two different numbers that differ in one decimal digit, as written (zero-padded)."""
    while a % 10 == b % 10:  # the lowest digit that differs...
        a, b = a // 10, b // 10
    return a // 10 == b // 10  # ...is the only one


def dob_level(q: date, c: date) -> str:
    """The level of two dates of birth."""
    if q == c:
        return "exact"
    if q.year == c.year and q.day == c.month and q.month == c.day:
        return "swapped"
    if _one_slip(q, c):
        return "slip"
    if (sw := swapped_dob(q)) is not None and _one_slip(sw, c):
        return "swapped_slip"
    return "different"


#: DOB levels that count as agreeing (exactly or by one supported keying error). Day and
#: month swapped *and* a slip is two errors: its own weak level, never a sure agreement.
DOB_AGREES = frozenset({"exact", "swapped", "slip"})


def compare_dob(q: date, c: date) -> tuple[float, bool]:
    """Weight (shipped model) of two dates of birth, and whether they agree."""
    level = dob_level(q, c)
    return _W["dob"][level], level in DOB_AGREES


def _family_weight(qf: tuple[str, ...], q_others: tuple[tuple[str, ...], ...],
                   cf: tuple[str, ...], c_others: tuple[tuple[str, ...], ...],
                   s: _Scorer, disagree: str) -> Scored:
    level, w = _family_level(qf, cf, s, disagree)
    if level != "exact":
        # A previous surname on either side: as strong as one part of a double barrel.
        for a in (qf, *q_others):
            for b in (cf, *c_others):
                if (a, b) != (qf, cf):
                    cap = s.w["family"]["previous"] + min(s.family_rarity(b), 0.0)
                    alt_level, alt = _family_level(a, b, s, disagree)
                    if min(cap, alt) > w:
                        level, w = ("previous", cap) if alt >= cap else (alt_level, alt)
    return level, w


def _given_weight(qg: tuple[str, ...], cg: tuple[str, ...],
                  c_others: tuple[tuple[str, ...], ...], s: _Scorer) -> Scored:
    level, w = _given_level(qg, cg, s)
    if w < 0:
        cap = s.w["given"]["nickname"]
        for alias in c_others:  # another name the person is known by
            alt_level, alt = _given_level(qg, alias, s)
            if min(cap, alt) > w:
                level, w = ("nickname", cap) if alt >= cap else (alt_level, alt)
    return level, w


def one_digit_apart(a: str, b: str) -> bool:
    """Two ten-digit numbers whose first nine digits differ in one place or by one swap."""
    diff = [i for i in range(9) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])


def _nhs_level(q: PreparedQuery, record_nhs: str) -> str | None:
    """The NHS-number level, or None when not comparable (missing, or the record's invalid)."""
    cn = normalise_nhs_number(record_nhs)
    if cn is None:
        return None
    if q.nhs is not None:
        if q.nhs == cn:
            return "exact"
        return "near" if one_digit_apart(q.nhs, cn) else "different"
    # The query's number fails its check: reported invalid and never trusted, but a
    # number one digit from the record's is the record's, mistyped.
    if q.nhs_digits is not None and one_digit_apart(q.nhs_digits, cn):
        return "one_digit"
    return None


#: (comparison, level, weight) entries of `Comparison.levels`, collected only when asked.
_Levels = list[tuple[str, str, float]] | None


def _identifiers_and_dob(q: PreparedQuery, person: Person, levels: _Levels,
                         ) -> tuple[float, bool, bool, bool, bool, bool]:
    """Weight of NHS number, UPN and date of birth, and what they say.

    (weight, identifier agrees, identifier conflicts, DOB agrees, DOB exact, DOB compared)
    """
    W = q.scorer.w
    weight = 0.0
    id_agree = id_conflict = False
    if person.nhs_number and (q.nhs is not None or q.nhs_digits is not None):
        nl = _nhs_level(q, person.nhs_number)
        if nl is not None:
            weight += (w := W["nhs"][nl])
            id_agree = nl == "exact"
            id_conflict = nl == "different"
            if levels is not None:
                levels.append(("nhs", nl, w))
    if q.upn is not None and person.upn and (cu := normalise_upn(person.upn)) is not None:
        ul = "exact" if q.upn == cu else "different"
        weight += (w := W["upn"][ul])
        id_agree = id_agree or ul == "exact"
        id_conflict = id_conflict or ul == "different"
        if levels is not None:
            levels.append(("upn", ul, w))

    dob_agrees = dob_exact = False
    cd = parse_dob(person.date_of_birth)
    dob_compared = q.dob is not None and cd is not None
    if q.dob is not None and cd is not None:
        dl = dob_level(q.dob, cd)
        weight += (w := W["dob"][dl])
        dob_agrees = dl in DOB_AGREES
        dob_exact = dl == "exact"
        if levels is not None:
            levels.append(("dob", dl, w))
    return weight, id_agree, id_conflict, dob_agrees, dob_exact, dob_compared


def _sex_and_address(q: PreparedQuery, person: Person, cs: str, levels: _Levels,
                     ) -> tuple[float, float, float, bool]:
    """Weights of sex (`cs`: the record's, normalised), postcode and address line.

    (sex, postcode, address, the full postcode agrees); 0.0 for a field not compared.
    """
    s = q.scorer
    W = s.w
    sex_w = postcode_w = address_w = 0.0
    if "unknown" not in (q.sex, cs):
        sl = "agree" if q.sex == cs else "different"
        sex_w = W["sex"][sl]
        if levels is not None:
            levels.append(("sex", sl, sex_w))

    postcode_agrees = False
    if q.postcode is not None and person.postcode:
        cp = normalise_postcode(person.postcode)
        if cp is not None:
            postcode_agrees = q.postcode == cp
            if postcode_agrees:
                pl, postcode_w = "exact", W["postcode"]["exact"] + s.postcode_rarity(cp)
            elif q.postcode[:-2] == cp[:-2]:
                pl, postcode_w = "sector", W["postcode"]["sector"]
            elif q.postcode.split(" ")[0] == cp.split(" ")[0]:
                pl, postcode_w = "district", W["postcode"]["district"]
            else:
                pl, postcode_w = "different", W["postcode"]["different"]
            if levels is not None:
                levels.append(("postcode", pl, postcode_w))
            if postcode_agrees and q.address and person.address:
                al = "exact" if q.address == fold(person.address) else "different"
                address_w = W["address"][al]
                if levels is not None:
                    levels.append(("address", al, address_w))
    return sex_w, postcode_w, address_w, postcode_agrees


def compare(query: PreparedQuery | QueryIdentifiers, person: Person,
            explain: bool = False) -> Comparison:
    """Compare a query with one candidate: total weight and which fields agree.

    With `explain`, the result lists each field's level and weight (`Comparison.levels`).
    """
    q = query if isinstance(query, PreparedQuery) else prepare(query)
    s = q.scorer
    W = s.w
    levels: _Levels = [] if explain else None
    weight, id_agree, id_conflict, dob_agrees, dob_exact, dob_compared = \
        _identifiers_and_dob(q, person, levels)
    contradicted = dob_compared and not dob_agrees

    cf = name_tokens(person.family_name)
    cg = name_tokens(person.given_name)
    c_others = tuple(t for o in person.other_names if (t := name_tokens(o)))
    fam_l = giv_l = ""
    fam_w = giv_w = 0.0
    has_f = bool(q.family and cf)
    has_g = bool(q.given and cg)
    cs = normalise_sex(person.sex)
    disagree = _disagree_level(cs)
    if has_f:
        fam_l, fam_w = _family_weight(q.family, q.other_family, cf, c_others, s, disagree)
    if has_g:
        giv_l, giv_w = _given_weight(q.given, cg, c_others, s)
    names_w = fam_w + giv_w
    order = ""
    if q.family and q.given and cf and cg:
        order = "as_given"
        if q.family != cf or q.given[0] != cg[0]:
            # Given and family names may have been entered the wrong way round. Read so,
            # the query's surname is compared with the record's given name only: the
            # record's other names are mostly previous surnames, and one agreeing with the
            # query's surname is the "previous" surname level of the usual reading, not a
            # given name -- taken as one, it would trade the query's given name (-8 when
            # it disagrees) for a cheap surname disagreement (-3).
            sw_fl, sw_f = _family_weight(q.given, (), cf, c_others, s, disagree)
            sw_gl, sw_g = _given_level(q.family, cg, s)
            # Read so, more names must agree than as given: one name agreeing either way
            # round (Nicholas James asked for, his twin James James held) is no sign of a
            # swap, and the reversed reading would trade the different given name (-8) for
            # a cheap surname disagreement (-3).
            agree_as_given = (fam_w > 0) + (giv_w > 0)
            if (sw_f + sw_g + W["name_order"]["reversed"] > names_w + W["name_order"]["as_given"]
                    and ((sw_f > 0) + (sw_g > 0) > agree_as_given or agree_as_given == 0)):
                fam_l, fam_w, giv_l, giv_w = sw_fl, sw_f, sw_gl, sw_g
                order = "reversed"
        names_w = fam_w + giv_w + W["name_order"][order]
    weight += names_w
    family_agrees = has_f and fam_w > 0
    given_agrees = has_g and giv_w > 0
    contradicted = contradicted or giv_l == "different"
    if levels is not None:
        if has_f:
            levels.append(("family", fam_l, fam_w))
        if has_g:
            levels.append(("given", giv_l, giv_w))
        if order:
            levels.append(("name_order", order, W["name_order"][order]))

    sex_w, postcode_w, address_w, postcode_agrees = _sex_and_address(q, person, cs, levels)
    # Another sex and no more than a likeness of the given name (a typo, a nickname, an
    # initial, none at all) is a twin or sibling of the other sex -- Louis and Louise,
    # William and Millie -- not one person; the same given name exactly is a sex keyed wrong.
    other_sex = "unknown" not in (q.sex, cs) and q.sex != cs
    contradicted = contradicted or (other_sex and giv_l != "exact")
    # Added one by one, in the order the fields are listed (the same sum every time).
    weight += sex_w
    weight += postcode_w
    weight += address_w
    return Comparison(weight, id_agree, id_conflict, dob_agrees, family_agrees, given_agrees,
                      contradicted, postcode_agrees, dob_compared, order == "reversed",
                      dob_exact, fam_l == disagree and phonetic("".join(q.family)) != phonetic(
                          "".join(cf)), tuple(levels) if levels is not None else ())


#: Added to every bound: a bound sums the same weights as `compare` in another order,
#: and floating-point sums in another order may differ in the last bits.
BOUND_SLACK = 1e-6


class NameBound:
    """Most that a query's names can weigh against a record, level by level.

    An exact agreement weighs what `compare` gives it (the record's name is the query's,
    so its rarity is known); any other level at most its weight plus the largest rarity
    bonus a partial level can take (a typo's or nickname's, capped; one part of a double
    barrel, by the rarer of the query's parts). Every level of the model is counted, so a
    level added to `model.FIELDS` is bounded too. Both readings of the names (as given and
    the other way round) are bounded.
    """

    __slots__ = ("family_other", "given_other", "most", "order", "q", "s")

    def __init__(self, q: PreparedQuery) -> None:
        self.q = q
        s = self.s = q.scorer
        family_tf = s.model.tf.get("family") if s.freq is not None else None
        given_tf = s.model.tf.get("given") if s.freq is not None else None
        family_rarest = s.family_offset + (family_tf.above if family_tf is not None else 0.0)
        given_rarest = s.given_offset + (given_tf.above if given_tf is not None else 0.0)
        family_parts = [s.family_rarity((t,)) for t in (*q.family, *q.given)]
        family_bonus = max(0.0, min(family_rarest, MAX_PARTIAL_RARITY_BONUS), *family_parts)
        given_bonus = max(0.0, min(given_rarest, MAX_PARTIAL_RARITY_BONUS))
        self.family_other = max(w for lv, w in s.w["family"].items() if lv != "exact") \
            + family_bonus
        self.given_other = max(w for lv, w in s.w["given"].items() if lv != "exact") \
            + given_bonus
        self.order = max(s.w["name_order"].values())
        #: most that any record's names can weigh (`of` never exceeds it)
        self.most = (max(0.0, W_FAMILY_EXACT + family_rarest, self.family_other)
                     + max(0.0, W_GIVEN_EXACT + given_rarest, self.given_other)
                     + max(0.0, self.order))

    def _family(self, q: tuple[str, ...], c: tuple[str, ...]) -> float:
        if q == c or "".join(q) == "".join(c):
            return W_FAMILY_EXACT + self.s.family_rarity(c)
        return self.family_other

    def _given(self, q: tuple[str, ...], c: tuple[str, ...]) -> float:
        if q[0] == c[0]:
            # An exact weight below zero (a trained model's) lets another name the record
            # is known by weigh up to the nickname level instead.
            exact = W_GIVEN_EXACT + self.s.given_rarity(c[0])
            return exact if exact >= 0 else max(exact, self.given_other)
        return self.given_other

    def of(self, person: Person) -> float:
        """Most that the names of `person` can weigh against the query's."""
        q = self.q
        if not (q.family or q.given):
            return 0.0
        cf = name_tokens(person.family_name)
        cg = name_tokens(person.given_name)
        if q.family and q.given and cf and cg:
            return max(self._family(q.family, cf) + self._given(q.given, cg),
                       self._family(q.given, cf) + self._given(q.family, cg)) + self.order
        bound = 0.0
        if q.family and cf:
            bound += max(0.0, self._family(q.family, cf))
        if q.given and cg:
            bound += max(0.0, self._given(q.given, cg))
        return bound


def _dob_weight(qd: date, cd: date, W: dict[str, dict[str, float]]) -> float:
    """What two dates of birth weigh (as `compare`), without `dob_level` for plainly
    different dates: a date sharing fewer than two of year, month and day with the
    query's, read either way round, is neither swapped nor one slip from it."""
    y, m, d = cd.year, cd.month, cd.day
    if ((qd.year == y) + (qd.month == m) + (qd.day == d) < 2
            and (qd.year == y) + (qd.day == m) + (qd.month == d) < 2):
        return W["dob"]["different"]
    return W["dob"][dob_level(qd, cd)]


def bounds_without_names(q: PreparedQuery, people: list[Person]) -> list[tuple[float, bool]]:
    """For each record: most that every field but the names can weigh, and whether an
    identifier (NHS number, UPN) agrees.

    Identifiers and the date of birth weigh what `compare` gives them; sex, postcode and
    address line at most that. Cheap: no name comparisons. With `NameBound(q).of(person)`
    added, a weight `compare(q, person)` never exceeds (`matcher.rank_candidates` skips
    records that cannot come near the best; `tests/property/test_weight_bound.py` holds
    the bound to `compare`).
    """
    s = q.scorer
    W = s.w
    has_ids = q.nhs is not None or q.nhs_digits is not None or q.upn is not None
    pc_exact = W["postcode"]["exact"]
    pc_other = max(w for lv, w in W["postcode"].items() if lv != "exact")
    address_most = max(0.0, *W["address"].values())
    sex_w: dict[str, float] = {}
    out: list[tuple[float, bool]] = []
    for person in people:
        if has_ids:
            bound, id_agree, _, _, _, _ = _identifiers_and_dob(q, person, None)
        else:
            id_agree = False
            cd = parse_dob(person.date_of_birth)
            bound = _dob_weight(q.dob, cd, W) if q.dob is not None and cd is not None else 0.0
        if (sw := sex_w.get(person.sex)) is None:
            cs = normalise_sex(person.sex)
            sw = sex_w[person.sex] = (0.0 if "unknown" in (q.sex, cs)
                                      else W["sex"]["agree" if q.sex == cs else "different"])
        bound += sw
        if q.postcode is not None and person.postcode:
            cp = normalise_postcode(person.postcode)
            if cp == q.postcode:
                bound += pc_exact + s.postcode_rarity(cp)
                if q.address and person.address:
                    bound += address_most
            elif cp is not None:
                bound += pc_other
        out.append((bound + BOUND_SLACK, id_agree))
    return out
