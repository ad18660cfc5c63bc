"""One working calendar, configured once per home: RAG timescales and "after hours" agree."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.hours import OfficeHours
from broker.timescales import due_at
from mash.home import Home
from mash.vocab import Rag
from mash.working_calendar import (
    CALENDAR_FILE,
    CalendarConfigError,
    calendar_from_mapping,
    home_calendar,
)

MONDAY_0830 = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # GMT: 08:30 in London


def test_the_home_calendar_drives_timescales_and_after_hours(tmp_path: Path) -> None:
    home = Home.at(tmp_path)
    home.config_dir.mkdir(parents=True)
    (home.config_dir / CALENDAR_FILE).write_text('[calendar]\nopens = "08:00"\ncloses = "18:00"\n')
    calendar = home_calendar(home)
    assert MONDAY_0830.weekday() == 0 and calendar.is_working_time(MONDAY_0830)
    assert not OfficeHours(calendar).is_after_hours(MONDAY_0830)
    assert due_at(MONDAY_0830, Rag.RED, calendar) == MONDAY_0830 + timedelta(hours=4)
    # without the file, every part uses the default calendar, which opens at 09:00
    assert OfficeHours(home_calendar(Home.at(tmp_path / "other"))).is_after_hours(MONDAY_0830)
    assert due_at(MONDAY_0830, Rag.RED) == MONDAY_0830 + timedelta(hours=4, minutes=30)


def test_an_unknown_zone_is_an_error_never_utc() -> None:
    with pytest.raises(CalendarConfigError, match="calendar.timezone"):
        calendar_from_mapping({"calendar": {"timezone": "Europe/Atlantis"}})
