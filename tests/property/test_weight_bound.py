"""Property tests: the matcher's cheap bound never falls below the weight, so skipping by it
changes no answer.

`matcher.rank_candidates` compares in full only the candidates whose bound
(`scoring.bounds_without_names` + `NameBound.of`) comes within the margin of the best; a
bound below a candidate's weight would drop a candidate that should have counted. These
tests hold the bound to `compare` over corrupted queries against a store with agency
errors, under the shipped model and under models with every weight moved at random (a
trained model's), and hold `decide` on the ranked list to `decide` on the full one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import MatchThresholds, decide, score_candidates
from agency_adapters.matching.evalset import CORRUPTIONS, EVAL_AS_OF, corrupt_query
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.matcher import rank_candidates
from agency_adapters.matching.model import PRIOR, Level, MatchModel, TermFrequency
from agency_adapters.matching.scoring import (
    W_GIVEN_MIDDLE,
    NameBound,
    _one_slip,
    bounds_without_names,
    compare,
    prepare,
)
from agency_adapters.seed.names import build_pools
from agency_adapters.seed.population import Population, generate_population
from agency_adapters.seed.project import QualityProfile, project
from agency_adapters.sqlite_store import SqliteAgencyStore, StoreWriter

#: An agency's usual errors, more often than usual: typos, nicknames, previous surnames,
#: other names, slipped dates, stale addresses, numbers held.
NOISY = QualityProfile(nhs_held=0.6, upn_held=0.5, nickname=0.1, typo_given=0.08,
                       typo_family=0.08, dob_swap=0.05, dob_slip=0.05, dob_missing=0.05,
                       previous_surname=0.2, middle_names_kept=0.7, other_names_kept=0.7,
                       sex_missing=0.05)


@dataclass(frozen=True)
class World:
    """A population and a store of its people as a careless agency holds them."""

    pop: Population
    store: SqliteAgencyStore
    frequencies: NameFrequencies | None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    pop = generate_population(random.Random("bound"), 1500, build_pools(3), EVAL_AS_OF)
    path: Path = tmp_path_factory.mktemp("bound") / "s.sqlite"
    rng = random.Random(1)
    with StoreWriter(path, "health") as w:
        w.add_people(project(rng, c, pop.households[c.household], f"P{c.cid}", NOISY)
                     for c in pop.citizens)
    store = SqliteAgencyStore(path)
    return World(pop, store, store.name_frequencies())


def _moved_model(rng: random.Random) -> MatchModel:
    """The shipped model with every weight moved by up to 6 bits (signs may flip) and
    term-frequency settings drawn at random: the bound must hold for any trained model."""
    levels = {f: {lv: Level(v.m, v.u, v.weight + rng.uniform(-6.0, 6.0))
                  for lv, v in field_levels.items()}
              for f, field_levels in PRIOR.levels.items()}
    tf = {f: TermFrequency(t.tf_u, below=rng.uniform(0.0, 5.0), above=rng.uniform(-1.0, 6.0),
                           pseudo_count=rng.choice((1.0, 50.0, 2000.0)))
          for f, t in PRIOR.tf.items()}
    return replace(PRIOR, levels=levels, tf=tf)


def _query(world: World, rng: random.Random) -> QueryIdentifiers:
    """A citizen as a referrer gives them: up to three corruptions, sometimes a number."""
    c = world.pop.citizens[rng.randrange(len(world.pop.citizens))]
    h = world.pop.households[c.household]
    q = {"given_name": c.given_name, "family_name": c.family_name,
         "date_of_birth": c.date_of_birth.isoformat(), "postcode": h.address.postcode,
         "nhs_number": ""}
    for kind in rng.sample(sorted(CORRUPTIONS), rng.choice((0, 1, 2, 3))):
        corrupt_query(rng, c, h, kind, q)
    nhs = ""
    if rng.random() < 0.3:
        nhs = c.nhs_number if rng.random() < 0.7 else c.nhs_number[:-1] + str(
            (int(c.nhs_number[-1]) + 1) % 10)  # a keyed slip: fails its check
    other = (c.previous_family_name,) if c.previous_family_name and rng.random() < 0.3 else ()
    return QueryIdentifiers(given_name=q["given_name"], family_name=q["family_name"],
                            other_names=other, date_of_birth=q["date_of_birth"] or None,
                            sex=rng.choice((c.sex, c.sex, "")), postcode=q["postcode"],
                            nhs_number=nhs, upn=c.upn if rng.random() < 0.2 else "")


def _some_people(world: World, query: QueryIdentifiers, rng: random.Random) -> list[Person]:
    """The query's candidates and a few strangers (a bound must hold for anyone)."""
    found = world.store.candidates(query)
    ids = [f"P{world.pop.citizens[rng.randrange(len(world.pop.citizens))].cid}"
           for _ in range(10)]
    return found + world.store.people(ids)


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32), moved=st.booleans(),
       with_frequencies=st.booleans())
def test_bound_is_never_below_the_weight(world: World, seed: int, moved: bool,
                                         with_frequencies: bool) -> None:
    rng = random.Random(seed)
    model = _moved_model(rng) if moved else None
    query = _query(world, rng)
    prepared = prepare(query, world.frequencies if with_frequencies else None, model)
    people = _some_people(world, query, rng)
    names = NameBound(prepared)
    for person, (rest, id_agrees) in zip(people, bounds_without_names(prepared, people),
                                         strict=True):
        c = compare(prepared, person)
        names_bound = names.of(person)
        assert names_bound <= names.most, (query, person)
        assert c.weight <= rest + names_bound, (query, person, compare(prepared, person, True))
        assert id_agrees == c.identifier_agrees, (query, person)


@SETTINGS
@given(seed=st.integers(min_value=0, max_value=2**32), moved=st.booleans(),
       margin=st.sampled_from((0.0, 2.0, 6.0, 12.0)))
def test_ranked_candidates_give_the_full_answer(world: World, seed: int, moved: bool,
                                                margin: float) -> None:
    rng = random.Random(seed)
    model = _moved_model(rng) if moved else None
    thresholds = MatchThresholds(margin=margin)
    query = _query(world, rng)
    people = world.store.candidates(query)
    freq = world.frequencies
    ranked = rank_candidates(query, people, thresholds, freq, model)
    full = score_candidates(query, people, freq, model)
    assert decide(query, ranked, thresholds, frequencies=freq, model=model,
                  considered=len(people)) == decide(query, full, thresholds, frequencies=freq,
                                                    model=model)
    if full:
        assert ranked[0] == full[0]  # the best record, reported even when only possible


#: Names from a few letters, so that equal words, shared parts of a double barrel, typos,
#: nicknames and names read the other way round all occur often.
words = st.sampled_from(("ann", "anne", "anna", "bob", "rob", "robert", "lee", "leigh", "li",
                         "smith", "smyth", "quennell", "a", "b", "bell", "bella"))
names_ = st.lists(words, min_size=0, max_size=3).map(" ".join)
dobs = st.sampled_from((None, "2010-03-04", "2010-04-03", "2010-03-05", "2011-03-04",
                        "2010-03-14", "1980-12-25"))
postcodes = st.sampled_from(("", "S11 8YA", "S11 8YB", "S11 9ZZ", "LS1 1AA"))
sexes = st.sampled_from(("female", "male", ""))


@st.composite
def people(draw: st.DrawFn) -> Person:
    """A record (or a query's identifiers) made of those names, dates and postcodes."""
    return Person(person_id=draw(st.sampled_from(("P1", "P2"))), given_name=draw(names_),
                  family_name=draw(names_), other_names=tuple(draw(st.lists(names_, max_size=2))),
                  date_of_birth=draw(dobs), sex=draw(sexes), postcode=draw(postcodes),
                  address=draw(st.sampled_from(("", "1 high st", "2 high st"))),
                  nhs_number=draw(st.sampled_from(("", "9434765919", "9434765870"))))


@settings(max_examples=300, deadline=None)
@given(query=people(), record=people(), counts=st.lists(st.integers(0, 400), min_size=16,
                                                        max_size=16),
       seed=st.integers(min_value=0, max_value=2**32), moved=st.booleans())
def test_bound_holds_for_any_pair_of_names(query: Person, record: Person, counts: list[int],
                                           seed: int, moved: bool) -> None:
    vocabulary = ("ann", "anne", "anna", "bob", "rob", "robert", "lee", "leigh", "li", "smith",
                  "smyth", "quennell", "a", "b", "bell", "bella")
    freq = NameFrequencies(total=1000, given=dict(zip(vocabulary, counts, strict=True)),
                           family=dict(zip(vocabulary, reversed(counts), strict=False)),
                           postcode={"S11 8YA": counts[0]})
    model = _moved_model(random.Random(seed)) if moved else None
    prepared = prepare(QueryIdentifiers.of_person(query), freq, model)
    (rest, _), = bounds_without_names(prepared, [record])
    c = compare(prepared, record)
    assert c.weight <= rest + NameBound(prepared).of(record), compare(prepared, record, True)


def _bound_and_weight(query: QueryIdentifiers, record: Person,
                      freq: NameFrequencies | None = None,
                      model: MatchModel | None = None) -> tuple[float, float]:
    prepared = prepare(query, freq, model)
    (rest, _), = bounds_without_names(prepared, [record])
    return rest + NameBound(prepared).of(record), compare(prepared, record).weight


def test_bound_holds_when_a_trained_exact_given_name_weighs_below_zero() -> None:
    # An exact given name below zero lets the record's other name (a middle name) weigh
    # more than the exact agreement itself.
    levels = {"given": {"exact": Level(0.5, 1.0, -1.0)}}
    model = PRIOR.with_levels(levels)
    query = QueryIdentifiers(given_name="Ann")
    record = Person("P1", given_name="Ann", family_name="Smith", other_names=("Bob Ann",))
    bound, weight = _bound_and_weight(query, record, model=model)
    assert weight == W_GIVEN_MIDDLE  # above the exact agreement's -1
    assert weight <= bound


def _one_slip_as_written(q: date, c: date) -> bool:
    """One keying slip, by comparing the dates as written (the definition)."""
    if (q.year == c.year) + (q.month == c.month) + (q.day == c.day) != 2:
        return False
    if abs(q.year - c.year) == 1 or abs(q.day - c.day) == 1:
        return True
    return sum(x != y for x, y in zip(q.isoformat(), c.isoformat(), strict=True)) == 1


dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


@settings(max_examples=500, deadline=None)
@given(q=dates, c=dates, part=st.sampled_from(("year", "month", "day", "none")))
def test_one_slip_is_one_digit_as_written(q: date, c: date, part: str) -> None:
    if part != "none":  # two parts the same: the cases where a slip is possible
        try:
            c = q.replace(**{part: getattr(c, part)})
        except ValueError:
            c = q + timedelta(days=10)
    assert _one_slip(q, c) == _one_slip_as_written(q, c)
