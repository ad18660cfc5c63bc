"""Named test clocks: instants that have broken date-dependent code before.

`make test` runs the time-sensitive tests (marker `clock_sensitive`) once under each of these,
with every process of the run (pytest workers, the broker and adapters they start) moved to the
same instant by `time-machine` and left ticking from there. Each instant is the most recent one
of its kind before the real date, so it is always within the last year: the dev certificates a
test home issues under it (valid 397 days from then) still pass OpenSSL's own, unmoved check.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import holidays

from mash.clock import LONDON


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON)


def _last(today: date, fits: Callable[[date], bool]) -> date:
    day = today - timedelta(days=1)
    while not fits(day):
        day -= timedelta(days=1)
    return day


def weekday(today: date) -> datetime:
    """The last Wednesday, 10:30: an ordinary working morning."""
    return _at(_last(today, lambda d: d.weekday() == 2), 10, 30)


def saturday(today: date) -> datetime:
    """The last Saturday, 11:00: not a working day."""
    return _at(_last(today, lambda d: d.weekday() == 5), 11)


def bank_holiday(today: date) -> datetime:
    """The last England and Wales bank holiday on a weekday, 10:00."""
    table = holidays.country_holidays("GB", subdiv="ENG", years=(today.year - 1, today.year))
    return _at(_last(today, lambda d: d in table and d.weekday() < 5), 10)


def christmas_eve_evening(today: date) -> datetime:
    """The last 24 December, 17:30: after a council's early close, before two bank holidays."""
    return _at(_last(today, lambda d: (d.month, d.day) == (12, 24)), 17, 30)


def clock_change_night(today: date) -> datetime:
    """00:30 UTC on the last night the clocks changed (last Sunday of March or October).

    In October that is 01:30 BST, half an hour before 01:30 happens again in GMT; in March,
    half an hour before the clocks skip from 01:00 to 02:00.
    """
    def changes(d: date) -> bool:
        return d.month in (3, 10) and d.weekday() == 6 and (d + timedelta(days=7)).month != d.month
    return datetime.combine(_last(today, changes), time(0, 30), UTC)


CLOCKS: dict[str, Callable[[date], datetime]] = {
    "weekday": weekday,
    "saturday": saturday,
    "bank_holiday": bank_holiday,
    "christmas_eve_evening": christmas_eve_evening,
    "clock_change_night": clock_change_night,
}
