"""Training on a store that holds many people several times must not answer worse than the
shipped model: random pairs of such a store include duplicates, which are not chance."""

from __future__ import annotations

import csv
import random
from dataclasses import replace

import pytest

from agency_adapters.backend import Person, QueryIdentifiers
from agency_adapters.matching import match
from agency_adapters.matching.evalset import generate_evalset
from agency_adapters.matching.matcher import MatchResult
from agency_adapters.matching.model import PRIOR, MatchModel
from agency_adapters.matching.training import TrainingSettings, train
from agency_adapters.sqlite_store import SqliteAgencyStore
from mash.vocab import MatchBand
from tests.unit.match_stores import GIVEN, build, random_person

FAST = TrainingSettings(u_people=3000, u_pairs=60_000, em_pairs=40_000)
SURE = (MatchBand.CERTAIN, MatchBand.HIGH)


def _typo(rng: random.Random, name: str) -> str:
    """Two neighbouring letters exchanged (one keying error)."""
    if len(name) < 3:
        return name
    i = rng.randrange(len(name) - 1)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def _slip(dob: str) -> str:
    """The day one off (one keying slip)."""
    y, m, d = dob.split("-")
    return f"{y}-{m}-{int(d) % 28 + 1:02d}"


def _copy(rng: random.Random, p: Person, pid: str) -> Person:
    """Another record of `p` as a second keying would hold it (FEBRL-style: one error, and
    often no NHS number, so the store cannot link it)."""
    dup = replace(p, person_id=pid, nhs_number=p.nhs_number if rng.random() < 0.5 else "")
    kind = rng.choice(("given", "family", "dob", "postcode", "given_other", "none"))
    if kind == "given":
        return replace(dup, given_name=_typo(rng, p.given_name))
    if kind == "family":
        return replace(dup, family_name=_typo(rng, p.family_name))
    if kind == "dob":
        return replace(dup, date_of_birth=_slip(p.date_of_birth or "2000-01-01"))
    if kind == "postcode":
        return replace(dup, postcode=random_person(rng, "x").postcode)
    if kind == "given_other":
        return replace(dup, given_name=rng.choice([g for g in GIVEN if g != p.given_name]))
    return dup


Queries = list[tuple[QueryIdentifiers, set[str]]]


@pytest.fixture(scope="module")
def duplicated_store(tmp_path_factory: pytest.TempPathFactory
                     ) -> tuple[SqliteAgencyStore, Queries]:
    """The generated evaluation set's agency, holding most people two or three times, and
    its queries: held people as referrers give them, and people not held (mostly twins,
    siblings and parents of people held). A query's truth is every record of its person."""
    work = tmp_path_factory.mktemp("dups")
    es = generate_evalset(work, people=2500, queries=600, seed=5)
    rng = random.Random(11)
    records: list[Person] = []
    copies: dict[str, set[str]] = {}
    with es.records.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            p = Person(row["record_id"], row["given_name"], row["family_name"], (),
                       row["date_of_birth"] or None, row["sex"] or "unknown", row["postcode"],
                       row["address_line"], row["nhs_number"])
            held = [p] + [_copy(rng, p, f"{p.person_id}-{k}") for k in range(rng.choice((0, 1, 2)))]
            records += held
            copies[p.person_id] = {h.person_id for h in held}
    with es.truth.open(newline="", encoding="utf-8") as f:
        truth = {r["query_id"]: copies.get(r["record_id"], set()) for r in csv.DictReader(f)}
    with es.queries.open(newline="", encoding="utf-8") as f:
        queries = [(QueryIdentifiers(r["given_name"], r["family_name"], (),
                                     r["date_of_birth"] or None, "", r["postcode"],
                                     "", r["nhs_number"]), truth[r["query_id"]])
                   for r in csv.DictReader(f)]
    return build(work / "s.sqlite", records), queries


@pytest.fixture(scope="module")
def trained(duplicated_store: tuple[SqliteAgencyStore, Queries]) -> MatchModel:
    """The model learned from the duplicated store."""
    return train(duplicated_store[0], settings=FAST).model


def _answers(store: SqliteAgencyStore, model: MatchModel | None,
             queries: Queries) -> tuple[int, int]:
    """(held people answered sure with one of their records, sure answers that are wrong)."""
    right = wrong = 0
    for q, ids in queries:
        r: MatchResult = match(store, q, model=model)
        if r.band in SURE:
            right += r.person_id in ids
            wrong += r.person_id not in ids
    return right, wrong


def test_chance_agreement_is_not_learned_from_duplicates(
        trained: MatchModel) -> None:
    # One random pair in ~1,000 here is one person held twice. Counted as strangers, they
    # would make an agreeing NHS number or date of birth look common by chance.
    for name in ("nhs", "dob"):
        assert trained.weight(name, "exact") > PRIOR.weight(name, "exact") - 1.0, name


def test_training_answers_no_worse_than_the_shipped_model(
        duplicated_store: tuple[SqliteAgencyStore, Queries], trained: MatchModel) -> None:
    store, queries = duplicated_store
    assert trained.trained["m_trained"], "EM should learn from this store's duplicates"
    shipped_right, shipped_wrong = _answers(store, None, queries)
    trained_right, trained_wrong = _answers(store, trained, queries)
    assert shipped_right > len(queries) // 2  # the set is not too hard to say anything
    assert trained_right >= shipped_right
    assert trained_wrong <= shipped_wrong


def test_a_different_given_name_is_never_forgiven_by_training(
        trained: MatchModel) -> None:
    # A sixth of these duplicates carry another given name, as a twin would: EM's m for
    # that level is high, but the weight stays where it tells twins apart.
    assert trained.levels["given"]["different"].m > PRIOR.levels["given"]["different"].m
    assert trained.weight("given", "different") <= PRIOR.weight("given", "different")
