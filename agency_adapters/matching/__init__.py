"""Identity matching at the adapter: normalise, block, score, band.

Public API: `match(backend, query, thresholds=DEFAULT) -> MatchResult`.
"""

from agency_adapters.matching.household import match_subjects, match_subjects_async
from agency_adapters.matching.matcher import (
    DEFAULT,
    InvalidThresholds,
    MatchingError,
    MatchResult,
    MatchThresholds,
    decide,
    invalid_identifiers,
    match,
    rank_candidates,
    score_candidates,
)

__all__ = [
    "DEFAULT",
    "InvalidThresholds",
    "MatchResult",
    "MatchThresholds",
    "MatchingError",
    "decide",
    "invalid_identifiers",
    "match",
    "match_subjects",
    "match_subjects_async",
    "rank_candidates",
    "score_candidates",
]
