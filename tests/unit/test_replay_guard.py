"""Signed queries are accepted once, within the allowed skew of the adapter's (injected) clock."""

from datetime import UTC, datetime, timedelta

import pytest

from agency_adapters.replay import ReplayError, ReplayGuard

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_fresh_query_once_then_replay_and_stale_refused() -> None:
    guard = ReplayGuard(max_skew_s=300, clock=lambda: NOW)
    guard.check("b1", "n" * 16, NOW.isoformat())
    with pytest.raises(ReplayError) as replay:
        guard.check("b1", "n" * 16, NOW.isoformat())
    assert replay.value.code == "replayed_query"
    with pytest.raises(ReplayError) as stale:
        guard.check("b1", "m" * 16, (NOW - timedelta(minutes=6)).isoformat())
    assert stale.value.code == "stale_query"
