"""Matching every subject of one referral (child, parents/carers, household members) at once.

Each subject is matched on its own and reported separately. One more rule applies
across subjects: if two subjects of the same referral resolve to the same agency
person (a referrer listing a child twice, or a parent whose identifiers match the
child's record), neither is sure -- both become `possible`, so one person's records
are never disclosed as another subject's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from agency_adapters.backend import AgencyBackend, QueryIdentifiers
from agency_adapters.matching.matcher import DEFAULT, MatchResult, MatchThresholds, match
from mash.vocab import MatchBand

SAME_PERSON_HINT = "two subjects of this referral match the same record: check both"


def match_subjects(backend: AgencyBackend, subjects: Sequence[tuple[str, QueryIdentifiers]],
                   thresholds: MatchThresholds = DEFAULT) -> dict[str, MatchResult]:
    """Match each `(subject_id, identifiers)`; results by subject id, in the given order."""
    results = {sid: match(backend, q, thresholds) for sid, q in subjects}
    claimed = Counter(r.person_id for r in results.values() if r.person_id is not None)
    for sid, r in results.items():
        if r.person_id is not None and claimed[r.person_id] > 1:
            results[sid] = replace(r, band=MatchBand.POSSIBLE, person_id=None,
                                   confirm_hint=SAME_PERSON_HINT)
    return results
