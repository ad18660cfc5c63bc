"""The named clocks of the fixed-clock runs land where they say, and within certificate reach."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from certs.authority import LEAF_VALIDITY
from mash.clock import LONDON
from tests.clocks import CLOCKS

DAYS = [date(2026, 12, 6), date(2027, 1, 1), date(2027, 3, 28), date(2027, 12, 25), date(2028, 2, 29)]


@pytest.mark.parametrize("today", DAYS)
def test_every_clock_is_before_today_and_within_a_certificates_life(today: date) -> None:
    for name, clock in CLOCKS.items():
        moment = clock(today).astimezone(LONDON)
        assert moment.date() < today, name
        # Certificates issued under the moved clock must still be valid by the real one.
        assert today - moment.date() < LEAF_VALIDITY - timedelta(days=7), name


@pytest.mark.parametrize("today", DAYS)
def test_each_clock_is_the_kind_of_moment_it_names(today: date) -> None:
    england = holidays.country_holidays("GB", subdiv="ENG", years=(today.year - 1, today.year))
    assert CLOCKS["weekday"](today).astimezone(LONDON).weekday() < 5
    assert CLOCKS["saturday"](today).astimezone(LONDON).weekday() == 5
    assert CLOCKS["bank_holiday"](today).astimezone(LONDON).date() in england
    eve = CLOCKS["christmas_eve_evening"](today).astimezone(LONDON)
    assert (eve.month, eve.day) == (12, 24) and eve.hour >= 17
    night = CLOCKS["clock_change_night"](today)
    # The UTC offset in London differs between the start and the end of that day.
    start = night.astimezone(LONDON).replace(hour=0, minute=0)
    assert start.utcoffset() != (start + timedelta(days=1)).astimezone(LONDON).utcoffset()
