"""Replay protection for signed queries: freshness window plus a nonce cache."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime

from mash.clock import Clock, utc_now


class ReplayError(Exception):
    """A query is stale, from the future, or a replay of one already answered."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ReplayGuard:
    """Accepts each (broker, nonce) once, within `max_skew_s` of the adapter's clock."""

    def __init__(self, max_skew_s: int = 300, clock: Clock = utc_now) -> None:
        self.max_skew_s = max_skew_s
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()

    def check(self, broker_id: str, nonce: str, issued_at: str) -> None:
        """Raise ReplayError unless this query is fresh and new; remember it if so."""
        if len(nonce) < 16:
            raise ReplayError("weak_nonce", "query nonce is missing or too short")
        try:
            issued = datetime.fromisoformat(issued_at)
        except ValueError:
            raise ReplayError("bad_timestamp", "query issued_at is not RFC 3339") from None
        if issued.tzinfo is None:
            issued = issued.replace(tzinfo=UTC)
        now = self.clock().timestamp()
        if abs(now - issued.timestamp()) > self.max_skew_s:
            raise ReplayError("stale_query", "query issued_at is outside the allowed clock skew")
        self._expire(now)
        key = (broker_id, nonce)
        if key in self._seen:
            raise ReplayError("replayed_query", "query nonce was already used")
        self._seen[key] = now

    def _expire(self, now: float) -> None:
        horizon = now - 2 * self.max_skew_s
        while self._seen:
            key, seen_at = next(iter(self._seen.items()))
            if seen_at >= horizon:
                break
            del self._seen[key]
