"""The injected clock: every time-dependent function takes one so tests can drive time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: Returns the current time as a timezone-aware UTC datetime.
Clock = Callable[[], datetime]

#: The zone of every MASH in England: working days, timescales and "today" are judged in it.
LONDON = ZoneInfo("Europe/London")


def utc_now() -> datetime:
    """The real clock (aware, UTC)."""
    return datetime.now(UTC)


def london_today(clock: Clock = utc_now) -> date:
    """Today's date in England by `clock` (a UTC day boundary is an hour off in summer)."""
    return clock().astimezone(LONDON).date()
