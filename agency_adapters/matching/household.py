"""Matching every subject of one referral (child, parents/carers, household members) at once.

Each subject is matched on its own and reported separately. One more rule applies
across subjects: if two subjects of the same referral resolve to the same agency
person (a referrer listing a child twice, or a parent whose identifiers match the
child's record), neither is sure -- both become `possible`, so one person's records
are never disclosed as another subject's.

`match_subjects` reads a synchronous backend; `match_subjects_async` asks for every
subject's candidates at once through a coroutine (the adapter's event loop) and
scores them when they have all arrived.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from agency_adapters.backend import AgencyBackend, Person, QueryIdentifiers
from agency_adapters.matching.frequencies import NameFrequencies
from agency_adapters.matching.matcher import (
    DEFAULT,
    MatchResult,
    MatchThresholds,
    decide,
    match,
    rank_candidates,
)
from agency_adapters.matching.model import MatchModel
from mash.vocab import MatchBand

SAME_PERSON_HINT = "two subjects of this referral match the same record: check both"


def _one_person_one_subject(results: dict[str, MatchResult]) -> dict[str, MatchResult]:
    claimed = Counter(r.same_as or r.person_id for r in results.values()
                      if r.person_id is not None)
    for sid, r in results.items():
        if r.person_id is not None and claimed[r.same_as or r.person_id] > 1:
            results[sid] = replace(r, band=MatchBand.POSSIBLE, person_id=None, same_as=None,
                                   confirm_hint=SAME_PERSON_HINT)
    return results


def match_subjects(backend: AgencyBackend, subjects: Sequence[tuple[str, QueryIdentifiers]],
                   thresholds: MatchThresholds = DEFAULT,
                   model: MatchModel | None = None) -> dict[str, MatchResult]:
    """Match each `(subject_id, identifiers)`; results by subject id, in the given order."""
    return _one_person_one_subject({sid: match(backend, q, thresholds, model)
                                    for sid, q in subjects})


async def match_subjects_async(
    candidates_of: Callable[[QueryIdentifiers], Awaitable[list[Person]]],
    subjects: Sequence[tuple[str, QueryIdentifiers]],
    thresholds: MatchThresholds = DEFAULT,
    frequencies: NameFrequencies | None = None,
    model: MatchModel | None = None,
) -> dict[str, MatchResult]:
    """As `match_subjects`, the candidates of all subjects read concurrently.

    The first failure of `candidates_of` is raised once every read has finished
    (each read is bounded by its caller's time limit).
    """
    found = await asyncio.gather(*(candidates_of(q) for _, q in subjects),
                                 return_exceptions=True)
    results: dict[str, MatchResult] = {}
    for (sid, q), people in zip(subjects, found, strict=True):
        if isinstance(people, BaseException):
            raise people
        results[sid] = decide(q, rank_candidates(q, people, thresholds, frequencies, model),
                              thresholds, frequencies=frequencies, model=model,
                              considered=len(people))
    return _one_person_one_subject(results)
