"""Office hours in England: what counts as "after hours" for search filters and alerts.

Weekdays 08:00-18:00 UK local time, except England and Wales bank holidays
(`holidays`, subdivision England). Entry times are UTC; they are converted to
Europe/London so British Summer Time is handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays


@lru_cache(maxsize=1)
def _london() -> tzinfo:
    try:
        return ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # pragma: no cover - a system without a tz database
        return UTC


@lru_cache(maxsize=1)
def _bank_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG")


@dataclass(frozen=True)
class OfficeHours:
    """Working hours (local time) on working days; everything else is after hours."""

    start: time = time(8, 0)
    end: time = time(18, 0)

    def is_after_hours(self, moment: datetime) -> bool:
        """True if `moment` (aware, any zone) falls outside working hours in England."""
        local = moment.astimezone(_london())
        if not is_working_day(local.date()):
            return True
        return not self.start <= local.time() < self.end

    def prepare(self, moment: datetime) -> None:
        """Build the bank-holiday table for `moment`'s year now rather than at a first check.

        The first check of a year builds its table (~0.1 s); callers on a hot path (the
        audit writer thread) call this when they are made, whatever the day of the week.
        """
        is_working_day(moment.astimezone(_london()).date())


def is_working_day(day: date) -> bool:
    """True on a weekday that is not an England and Wales bank holiday."""
    # The holiday table is consulted first, on every day, so a year's table is built on the
    # first query of that year even when it falls on a weekend.
    return day not in _bank_holidays() and day.weekday() < 5


def parse_ts(ts: str) -> datetime:
    """An entry timestamp (`2026-11-25T10:00:00.000000Z`) as an aware UTC datetime."""
    # fromisoformat (3.11 reads the `Z`) is ~30x cheaper than strptime: this runs on the
    # audit writer thread for every committed entry (the alert rules).
    moment = datetime.fromisoformat(ts)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
