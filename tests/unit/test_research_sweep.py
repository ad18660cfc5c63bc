"""The broker's background collection of researchers' answers: the loop and what it sweeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broker.research_pending import PendingResearch, PendingResearchStore
from broker.research_sweep import sweep_forever

COLLECTED_AT = datetime(2026, 1, 2, 13, tzinfo=UTC)


def _item(query_id: str, referral_id: str, asked_at: str) -> PendingResearch:
    return PendingResearch(query_id=query_id, agency="police", referral_id=referral_id,
                           lookup_id=f"L-{query_id}", query=b"q", query_sha256=b"\0" * 32,
                           decision="PERMIT", agreement_id="dsa", agreement_version="v",
                           asked_at=asked_at)


def test_the_sweep_visits_each_waiting_referral_once_longest_waiting_first(
        tmp_path: Path) -> None:
    store = PendingResearchStore(tmp_path / "research.sqlite")
    store.add(_item("Q2", "REF-B", "2026-01-02T10:00:00+00:00"))
    store.add(_item("Q1", "REF-A", "2026-01-02T11:00:00+00:00"))
    store.add(_item("Q3", "REF-B", "2026-01-02T12:00:00+00:00"))
    assert store.waiting_referrals() == ["REF-B", "REF-A"]
    store.collected("Q2", COLLECTED_AT, "L-Q2-filed")
    store.collected("Q3", COLLECTED_AT, "L-Q3-filed")
    assert store.waiting_referrals() == ["REF-A"]
    store.close()


def test_a_failed_round_is_logged_and_the_next_round_runs() -> None:
    rounds: list[str] = []
    waits: list[float] = []

    async def sweep() -> int:
        rounds.append("round")
        if len(rounds) == 1:
            raise OSError("disk full")
        return 1

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(sweep_forever(sweep, 7.5, sleep=sleep))
    assert rounds == ["round"] * 3 and waits == [7.5] * 3
