"""RAG timescales in working hours, counted on the MASH's working calendar.

A MASH rates each referral Red, Amber or Green, and each rating gives the agencies a
timescale to research it in: by default Red 4 working hours, Amber 1 working day,
Green 3 working days. The calendar, its configuration and the working-time arithmetic
are `mash.working_calendar` (one calendar for the whole system); this module answers
when a referral is due and whether it is at risk or breached.
"""

from __future__ import annotations

from datetime import datetime

from mash.clock import LONDON
from mash.vocab import Rag, parse
from mash.working_calendar import (
    CALENDAR_FILE,
    DEFAULT_CALENDAR,
    MAX_CLOSED_DAYS,
    CalendarConfigError,
    NaiveDatetime,
    NoWorkingTime,
    TimescaleError,
    Timescales,
    WorkingCalendar,
    calendar_from_mapping,
    home_calendar,
    load_calendar,
    require_aware,
)

__all__ = ["CALENDAR_FILE", "DEFAULT_CALENDAR", "LONDON", "MAX_CLOSED_DAYS", "CalendarConfigError",
           "NaiveDatetime", "NoWorkingTime", "TimescaleError", "Timescales", "WorkingCalendar",
           "at_risk", "breached", "calendar_from_mapping", "due_at", "home_calendar",
           "load_calendar", "timescale_state"]


def due_at(received: datetime, rag: Rag | str,
           calendar: WorkingCalendar = DEFAULT_CALENDAR) -> datetime:
    """When research on a referral received at `received` and rated `rag` is due.

    Returns an aware datetime in the calendar's zone (offset +00:00 or +01:00
    for Europe/London). Raises `NaiveDatetime` for a naive `received`.
    """
    return calendar.add_working_time(received, calendar.timescales.for_rag(parse(Rag, rag)))


def breached(due: datetime, now: datetime) -> bool:
    """Whether the timescale ending at `due` has passed at `now`."""
    require_aware(due)
    require_aware(now)
    return now > due


def at_risk(due: datetime, now: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> bool:
    """Whether, at `now`, `due` is close (within the calendar's margin of working time).

    A breached timescale is not "at risk" -- it is breached; callers show one flag.
    """
    if breached(due, now):
        return False
    return calendar.working_time_between(now, due) <= calendar.at_risk_margin


def timescale_state(due: datetime, now: datetime,
                    calendar: WorkingCalendar = DEFAULT_CALENDAR) -> str:
    """One word for the timescale at `now`: `breached`, `at_risk` or `on_track`."""
    if breached(due, now):
        return "breached"
    if at_risk(due, now, calendar):
        return "at_risk"
    return "on_track"
