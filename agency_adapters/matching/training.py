"""Learn a match model from an agency's own records, without labels (Fellegi–Sunter, as Splink).

1. **u from random pairs.** Two records drawn at random are almost always two different
   people, so how often each level occurs among random pairs is its u-probability
   (Splink's `estimate_u_using_random_sampling`). A level seen too rarely to count keeps
   the prior's u (an NHS number agreeing by chance, say).
2. **m by expectation-maximisation over blocked pairs.** Pairs of records that share a
   blocking key (an NHS number, a date of birth, the sound of both names) mix the same
   person recorded twice with different people. With u fixed, EM alternates: the chance
   that each pair is a match, given the current m; then m as the match-weighted share of
   each level (Splink's `estimate_parameters_using_expectation_maximisation`). It runs on
   the counts of each agreement pattern, once per blocking rule, leaving out the fields
   the rule forces to agree (they say nothing there), and the estimates are averaged.
   The prior's m enters every estimate as `prior_strength` pseudo-pairs, so a store with
   few duplicates keeps close to the prior and one with many follows its own data.
3. **Term frequencies.** The chance that two random records share a name or postcode
   (Σp²) centres the adjustment of an exact agreement on a common or rare value.

Guards (fail closed: a rule whose result is not trusted changes nothing): a rule needs
at least `min_matches` expected matches, and its match class must agree on names and
date of birth more often than not -- otherwise EM has found households or twins (same
surname, date of birth and address, different given names), not duplicates.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.matcher import person_key
from agency_adapters.matching.model import (
    FIELDS,
    NO_STRONGER_THAN_PRIOR,
    PRIOR,
    TF_FIELDS,
    Level,
    MatchModel,
    TermFrequency,
)
from agency_adapters.matching.scoring import compare, prepare
from mash.clock import Clock, utc_now

#: A pair's agreement pattern: one level (or None: not compared) per comparison in FIELDS.
Pattern = tuple[str | None, ...]
_NAMES = tuple(FIELDS)
_INDEX = {name: i for i, name in enumerate(_NAMES)}


class TrainingSource(Protocol):
    """What training reads from an agency's records (`SqliteAgencyStore` provides it)."""

    def person_ids(self) -> list[str]:
        """Every person's id."""
        ...

    def people(self, person_ids: list[str]) -> list[Person]:
        """The people with these ids."""
        ...

    def key_groups(self, prefix: str) -> Iterator[list[str]]:
        """Ids sharing each blocking key that starts with `prefix` (groups of two or more)."""
        ...

    def name_frequencies(self) -> NameFrequencies | None:
        """How often each name and postcode occurs (None if not counted)."""
        ...


@dataclass(frozen=True)
class BlockingRule:
    """Blocked pairs for EM: records sharing a key with `prefix`; `fixed` fields not trained."""

    name: str
    prefix: str
    fixed: frozenset[str]


#: Shared NHS number (mostly the same person twice), date of birth, both names' sounds.
RULES: tuple[BlockingRule, ...] = (
    BlockingRule("nhs_number", "n:", frozenset({"nhs"})),
    BlockingRule("date_of_birth", "d:", frozenset({"dob"})),
    BlockingRule("names", "gf:", frozenset({"given", "family", "name_order"})),
)


@dataclass(frozen=True)
class TrainingSettings:
    """How much to read and how EM runs (defaults sized for 1,000,000 people on 2 cores)."""

    u_people: int = 4000          # people sampled for random pairs
    u_pairs: int = 1_000_000      # random pairs compared for u
    em_pairs: int = 150_000       # blocked pairs per rule, sampled evenly across keys
    max_iterations: int = 40
    convergence: float = 1e-5     # largest change of any m between iterations
    prior_strength: float = 100.0  # pseudo-pairs of the prior in each m estimate
    min_matches: float = 30.0     # expected matches a rule needs before it counts
    min_u_count: int = 10         # random-pair sightings before a level's u is trusted
    seed: int = 7


@dataclass(frozen=True)
class RuleResult:
    """What EM did with one blocking rule."""

    rule: str
    pairs: int
    expected_matches: float
    iterations: int
    used: bool
    reason: str = ""
    m: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingReport:
    """The trained model and what training saw."""

    model: MatchModel
    people: int
    u_pairs: int
    rules: tuple[RuleResult, ...]
    seconds: float


class TrainingError(Exception):
    """Training cannot run on this source (too few records, nothing to read)."""


def pair_pattern(a: Person, b: Person, model: MatchModel = PRIOR) -> Pattern:
    """The level of each comparison for record `a` (as a query) against record `b`."""
    levels = compare(prepare(QueryIdentifiers.of_person(a), None, model), b, explain=True).levels
    out: list[str | None] = [None] * len(_NAMES)
    for name, level, _w in levels:
        out[_INDEX[name]] = level
    return tuple(out)


def _count_levels(patterns: Mapping[Pattern, int]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {name: Counter() for name in _NAMES}
    for pattern, n in patterns.items():
        for name, level in zip(_NAMES, pattern, strict=True):
            if level is not None:
                counts[name][level] += n
    return counts


#: A random pair the shipped model scores this high is one person recorded twice, not two
#: strangers: two different people reach it with a chance of at most 2**-20 (a likelihood
#: ratio bounds it), so leaving such pairs out moves no u by more than that.
EVIDENT_MATCH_BITS = 20.0


def _evidently_one_person(a: Person, b: Person, weight: float) -> bool:
    """A random pair that is the same person: linked in the store, or scored far too high."""
    return person_key(a) == person_key(b) or weight >= EVIDENT_MATCH_BITS


def estimate_u(people: Sequence[Person], pairs: int, rng: random.Random, prior: MatchModel,
               min_count: int) -> tuple[dict[str, dict[str, float]], int]:
    """u per level from `pairs` random pairs of `people` (levels seen too rarely keep the prior).

    u is about two different people, so a pair that is evidently one person recorded twice
    is left out: in a store that holds many duplicates (a person in three records), random
    pairs would otherwise count the duplicates' agreement as chance, and an agreeing NHS
    number or date of birth would weigh as if strangers shared it.
    """
    prepared = [prepare(QueryIdentifiers.of_person(p), None, prior) for p in people]
    n = len(people)
    patterns: Counter[Pattern] = Counter()
    done = 0
    for _ in range(pairs):
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j:
            continue
        compared = compare(prepared[i], people[j], explain=True)
        if _evidently_one_person(people[i], people[j], compared.weight):
            continue
        out: list[str | None] = [None] * len(_NAMES)
        for name, level, _w in compared.levels:
            out[_INDEX[name]] = level
        patterns[tuple(out)] += 1
        done += 1
    counts = _count_levels(patterns)
    u: dict[str, dict[str, float]] = {}
    for name, levels in FIELDS.items():
        total = sum(counts[name].values())
        u[name] = {}
        for level in levels:
            c = counts[name][level]
            u[name][level] = (c / total if total and c >= min_count
                              else prior.levels[name][level].u)
    return u, done


def _sample_pairs(groups: Iterator[list[str]], want: int, rng: random.Random,
                  total_pairs: int) -> list[tuple[str, str]]:
    rate = min(1.0, want / total_pairs) if total_pairs else 0.0
    out: list[tuple[str, str]] = []
    for ids in groups:
        n = len(ids)
        expected = n * (n - 1) / 2 * rate
        k = int(expected) + (rng.random() < expected - int(expected))
        for _ in range(k):
            i, j = rng.sample(range(n), 2)
            out.append((ids[i], ids[j]))
    return out


def blocked_patterns(source: TrainingSource, rule: BlockingRule, want: int,
                     rng: random.Random, model: MatchModel) -> Counter[Pattern]:
    """Agreement patterns of up to ~`want` pairs sharing a key of `rule`, sampled evenly."""
    total = sum(len(g) * (len(g) - 1) // 2 for g in source.key_groups(rule.prefix))
    pairs = _sample_pairs(source.key_groups(rule.prefix), want, rng, total)
    ids = sorted({i for pair in pairs for i in pair})
    people: dict[str, Person] = {}
    for k in range(0, len(ids), 5000):
        people.update((p.person_id, p) for p in source.people(ids[k:k + 5000]))
    patterns: Counter[Pattern] = Counter()
    for a, b in pairs:
        if a in people and b in people:
            patterns[pair_pattern(people[a], people[b], model)] += 1
    return patterns


def _bits(m: Mapping[str, Mapping[str, float]], u: Mapping[str, Mapping[str, float]],
          name: str, level: str) -> float:
    if name == "name_order":  # a reading, not a value: its cost is m's alone (see `train`)
        return math.log2(m[name][level] / m[name]["as_given"])
    return math.log2(m[name][level] / u[name][level])


def run_em(patterns: Mapping[Pattern, int], u: Mapping[str, Mapping[str, float]],
           prior: MatchModel, fixed: frozenset[str], settings: TrainingSettings,
           lambda0: float = 0.01
           ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]], float, int]:
    """EM over pattern counts with u fixed: (m by comparison, the pairs' own m, lambda,
    iterations).

    m includes the prior's pseudo-pairs; the pairs' own m is the match-weighted share of
    each level among the pairs alone (what the guards judge: with few expected matches the
    pseudo-pairs would hide what kind of pairs EM took for matches).
    """
    m = {name: {lv: prior.levels[name][lv].m for lv in FIELDS[name]} for name in _NAMES}
    for name in m:  # the prior's m as a distribution
        z = sum(m[name].values())
        m[name] = {lv: v / z for lv, v in m[name].items()}
    prior_m = {name: dict(v) for name, v in m.items()}
    free = [i for i, name in enumerate(_NAMES) if name not in fixed]
    lam = lambda0
    items = list(patterns.items())
    total = sum(n for _p, n in items)
    iterations = 0
    data_m: dict[str, dict[str, float]] = {}
    for iteration in range(1, settings.max_iterations + 1):
        iterations = iteration
        num: dict[str, dict[str, float]] = {_NAMES[i]: defaultdict(float) for i in free}
        den = dict.fromkeys(num, 0.0)
        matched = 0.0
        log_prior_odds = math.log2(lam / (1 - lam))
        for pattern, n in items:
            bits = log_prior_odds
            for i in free:
                level = pattern[i]
                if level is not None:
                    bits += _bits(m, u, _NAMES[i], level)
            p = 1.0 / (1.0 + 2.0 ** -bits) if bits > -60 else 0.0
            pn = p * n
            matched += pn
            for i in free:
                level = pattern[i]
                if level is not None:
                    num[_NAMES[i]][level] += pn
                    den[_NAMES[i]] += pn
        change = 0.0
        data_m = {name: {lv: num[name][lv] / den[name] for lv in FIELDS[name]}
                  for name in num if den[name] > 0}
        for name in num:
            a = settings.prior_strength
            new = {lv: (num[name][lv] + a * prior_m[name][lv]) / (den[name] + a)
                   for lv in FIELDS[name]}
            change = max(change, *(abs(new[lv] - m[name][lv]) for lv in new))
            m[name] = new
        lam = min(max(matched / total, 1e-9), 1 - 1e-9) if total else lam
        if change < settings.convergence:
            break
    return m, data_m, lam, iterations


#: Levels that count as agreeing, for the guard that the match class is the same person.
_AGREEING = {"given": ("exact", "nickname", "typo", "typo2", "nickname_typo", "middle"),
             "family": ("exact", "part", "previous", "typo", "typo2", "part_typo"),
             "dob": ("exact", "swapped", "slip")}


def _looks_like_relatives(m: Mapping[str, Mapping[str, float]], fixed: frozenset[str]) -> str:
    for name, levels in _AGREEING.items():
        if name not in fixed and name in m and sum(m[name][lv] for lv in levels) < 0.5:
            return (f"the pairs EM took for matches mostly disagree on {name}: relatives or "
                    "twins, not duplicates")
    return ""


def _term_frequencies(freq: NameFrequencies | None, prior: MatchModel,
                      levels: Mapping[str, Mapping[str, Level]]) -> dict[str, TermFrequency]:
    """Σp² of each counted field (the u of an exact agreement) centres its adjustment.

    The bounds stay where the prior put them on the exact weight plus adjustment, wherever
    training moved the exact weight.
    """
    tf = dict(prior.tf)
    if freq is None or freq.total < 2:
        return tf
    tables: dict[str, Mapping[str, int] | None] = {
        "given": freq.given, "family": freq.family, "postcode": freq.postcode}
    for name, table in tables.items():
        if not table:
            continue
        # (A double barrel's words are counted as surnames too: a slight overestimate.)
        sum_p2 = sum((c / freq.total) ** 2 for c in table.values())
        if sum_p2 <= 0:
            continue
        base = prior.tf.get(name)
        below, above = (base.below, base.above) if base else (4.0, 3.0)
        shift = levels[name]["exact"].weight - prior.levels[name]["exact"].weight
        tf[name] = TermFrequency(sum_p2, below=max(0.0, below + shift),
                                 above=max(0.0, above - shift))
    return tf


def floored_m(prior: MatchModel, name: str, m: Mapping[str, float]) -> dict[str, float]:
    """EM's m for one comparison, no error level rarer than the prior says.

    EM learns m from the agency's own duplicate records; a referrer makes keying errors of
    its own (names the other way round, a mistyped surname) at least as often as the prior
    assumes, even where the agency's duplicates never show them. So each level after the
    first keeps at least the prior's m, and the first (agreement) level takes the rest.
    """
    levels = FIELDS[name]
    out = {lv: max(m[lv], prior.levels[name][lv].m) for lv in levels[1:]}
    out[levels[0]] = max(1.0 - sum(out.values()), 1e-6)
    z = sum(out.values())
    return {lv: out[lv] / z for lv in levels}


def trained_levels(prior: MatchModel, u: Mapping[str, Mapping[str, float]],
                   trained_m: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, Level]]:
    """Each level's m, u and weight after training.

    Every weight is the prior's hand-set weight moved by what the store shows, as a
    likelihood ratio: w_prior + log2(m / m_prior) + log2(u_reference / u_store). m moves
    only for a comparison EM learned (`floored_m`); u is the store's own. So a store like
    the reference population keeps the shipped weights, and the thresholds, set in the
    same bits, keep their meaning. The exact level of a name or postcode is moved by the
    value's own frequency instead of its u (`TermFrequency`, centred on this store's Σp²):
    a name weighs about log2(1/p) as in the prior, and a postcode unit of the usual size
    keeps the prior's weight whatever the store's size. The order of names is a reading,
    not a value: only its m moves it, and it is a cost, never a gain.
    """
    levels: dict[str, dict[str, Level]] = {}
    for name, names_levels in FIELDS.items():
        m = floored_m(prior, name, trained_m[name]) if name in trained_m else None
        levels[name] = {}
        for lv in names_levels:
            p = prior.levels[name][lv]
            m_shift = math.log2(m[lv] / p.m) if m is not None else 0.0
            if name == "name_order":
                w = min(0.0, p.weight + m_shift - (math.log2(m["as_given"] / prior.levels[
                    name]["as_given"].m) if m is not None else 0.0))
                levels[name][lv] = Level(m[lv] if m else p.m, p.u, w)
                continue
            u_store = u[name][lv]
            if name in TF_FIELDS and lv == "exact":
                u_shift = math.log2(p.u / u_store) if name != "postcode" else 0.0
            else:
                u_shift = math.log2(p.u / u_store)
            w = p.weight + m_shift + u_shift
            if (name, lv) in NO_STRONGER_THAN_PRIOR:
                w = min(w, p.weight)
            levels[name][lv] = Level(m[lv] if m else p.m, u_store, w)
    return levels


def train(source: TrainingSource, prior: MatchModel = PRIOR,
          settings: TrainingSettings = TrainingSettings(),
          clock: Clock = utc_now,
          progress: Callable[[str], None] = lambda _msg: None) -> TrainingReport:
    """Estimate u, m and term frequencies from `source`'s records; the prior fills the gaps."""
    t0 = time.perf_counter()
    rng = random.Random(settings.seed)
    ids = source.person_ids()
    if len(ids) < 2:
        raise TrainingError(f"training needs at least two records, the store holds {len(ids)}")
    sample_ids = rng.sample(ids, min(len(ids), settings.u_people))
    sample = source.people(sample_ids)
    progress(f"u: {settings.u_pairs:,} random pairs of {len(sample):,} records")
    u, u_pairs = estimate_u(sample, settings.u_pairs, rng, prior, settings.min_u_count)
    results: list[RuleResult] = []
    for rule in RULES:
        patterns = blocked_patterns(source, rule, settings.em_pairs, rng, prior)
        pairs = sum(patterns.values())
        progress(f"EM on {rule.name}: {pairs:,} blocked pairs")
        if not pairs:
            results.append(RuleResult(rule.name, 0, 0.0, 0, False, "no pairs share such a key"))
            continue
        m, data_m, lam, iterations = run_em(patterns, u, prior, rule.fixed, settings)
        expected = lam * pairs
        reason = ""
        if expected < settings.min_matches:
            reason = (f"{expected:.0f} expected matches among {pairs:,} pairs, fewer than "
                      f"{settings.min_matches:.0f}: too few duplicate records to learn from")
        else:
            reason = _looks_like_relatives(data_m, rule.fixed)
        free = {n: m[n] for n in _NAMES if n not in rule.fixed}
        results.append(RuleResult(rule.name, pairs, expected, iterations, not reason, reason,
                                  free))
    # Average each comparison's m over the rules that trained it (as Splink does).
    trained_m: dict[str, dict[str, float]] = {}
    for name in _NAMES:
        estimates = [r.m[name] for r in results if r.used and name in r.m]
        if estimates:
            trained_m[name] = {lv: sum(e[lv] for e in estimates) / len(estimates)
                               for lv in FIELDS[name]}
    levels = trained_levels(prior, u, trained_m)
    lam_used = [r.expected_matches / r.pairs for r in results if r.used and r.pairs]
    model = prior.with_levels(
        levels, tf=_term_frequencies(source.name_frequencies(), prior, levels),
        lambda_=sum(lam_used) / len(lam_used) if lam_used else 0.0, source="trained",
        trained={
            "at": clock().isoformat(timespec="seconds"), "people": len(ids),
            "u_pairs": u_pairs, "prior_strength": settings.prior_strength,
            "seed": settings.seed,
            "rules": [{"rule": r.rule, "pairs": r.pairs, "expected_matches": round(
                r.expected_matches, 1), "iterations": r.iterations, "used": r.used,
                "reason": r.reason} for r in results],
            "m_trained": sorted(trained_m)})
    return TrainingReport(model, len(ids), u_pairs, tuple(results), time.perf_counter() - t0)
