"""The working calendar of a MASH: one for the whole system, configured once per home.

When a local authority's MASH is working -- days, opening hours, zone, England and
Wales bank holidays, its own closures -- and the working time each RAG rating allows.
RAG timescales (`broker.timescales`) count working time on it, and the audit alert
rules and searches (`audit.hours`) call everything outside it "after hours". A home
configures it in `config/timescales.toml` (`home_calendar`); without that file every
part uses `DEFAULT_CALENDAR`.

Working time is counted in *local wall time* (Europe/London) between the opening and
closing times of working days, so a clock change (BST <-> GMT, always in the small
hours of a Sunday) never adds or removes an hour of working time. Adding hours in UTC
would be wrong across such a change; that is why all arithmetic here is on local wall
times.

England and Wales bank holidays come from the `holidays` library (country GB,
subdivision ENG), including substitute days; a local authority can add closures of
its own (e.g. the afternoon of Christmas Eve is not modelled, but a whole extra
closure day is). Zones come from the IANA database (`tzdata` is a dependency, so a
machine without a system zone database still has it; a missing zone is an error,
never a silent fall-back to UTC).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import msgspec

from mash.clock import LONDON
from mash.config import ConfigError, Strict, TomlDocument, decode
from mash.home import Home
from mash.vocab import Rag, parse

#: The calendar file in a home's config folder.
CALENDAR_FILE = "timescales.toml"

#: How far ahead we look for the next working day before deciding the calendar is broken.
MAX_CLOSED_DAYS = 366


class TimescaleError(Exception):
    """Base of the errors raised by timescale arithmetic."""


class NaiveDatetime(TimescaleError):
    """A datetime without a UTC offset was given; we never guess the zone."""


class CalendarConfigError(TimescaleError):
    """A working calendar or timescale configuration is invalid (names the field)."""


class NoWorkingTime(TimescaleError):
    """The calendar has no working day within `MAX_CLOSED_DAYS` of the given time."""


@dataclass(frozen=True)
class Timescales:
    """Working time allowed per RAG rating (per local authority).

    Amber and Green are whole working days by default; one working day is the
    length of the calendar's working day (8 hours for 09:00-17:00).
    """

    red: timedelta = timedelta(hours=4)
    amber: timedelta = timedelta(hours=8)
    green: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        for name in ("red", "amber", "green"):
            if getattr(self, name) <= timedelta(0):
                raise CalendarConfigError(f"timescales.{name}: must be positive working time")

    def for_rag(self, rag: Rag) -> timedelta:
        """The working time allowed for `rag`."""
        return {Rag.RED: self.red, Rag.AMBER: self.amber, Rag.GREEN: self.green}[parse(Rag, rag)]


@functools.lru_cache(maxsize=64)
def _bank_holidays(country: str, subdiv: str, year: int) -> frozenset[date]:
    """Bank holidays of one year (cached: the library builds them rule by rule)."""
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year).keys())


@dataclass(frozen=True)
class WorkingCalendar:
    """When a MASH is working: days, hours, zone, bank holidays, closures, timescales."""

    opens: time = time(9, 0)
    closes: time = time(17, 0)
    #: Monday is 0 (as `date.weekday()`).
    working_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    tz: ZoneInfo = LONDON
    holiday_country: str = "GB"
    holiday_subdiv: str = "ENG"
    #: Local-authority closure days on top of the bank holidays.
    extra_closures: frozenset[date] = frozenset()
    timescales: Timescales = field(default_factory=Timescales)
    #: Remaining working time at or under which a referral is "at risk" of breaching.
    at_risk_margin: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise CalendarConfigError("calendar.opens/closes: give local wall times without zone")
        if self.opens >= self.closes:
            raise CalendarConfigError("calendar.closes: must be after calendar.opens")
        if not self.working_weekdays or not self.working_weekdays <= set(range(7)):
            raise CalendarConfigError("calendar.working_weekdays: weekday numbers 0 (Mon)-6 (Sun)")
        if self.at_risk_margin < timedelta(0):
            raise CalendarConfigError("calendar.at_risk_margin: must not be negative")

    @property
    def working_day(self) -> timedelta:
        """The length of one working day."""
        return _wall(date.min, self.closes) - _wall(date.min, self.opens)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day (weekday, not a bank holiday, not a closure)."""
        # The holiday table is consulted first, on every day, so a year's table is built on
        # the first query of that year even when it falls on a weekend (`audit.hours`).
        return (
            day not in _bank_holidays(self.holiday_country, self.holiday_subdiv, day.year)
            and day.weekday() in self.working_weekdays
            and day not in self.extra_closures
        )

    def is_working_time(self, moment: datetime) -> bool:
        """Whether `moment` (aware, any zone) falls in working hours on a working day."""
        wall = self.local(moment)
        return self.is_working_day(wall.date()) and self.opens <= wall.time() < self.closes

    def next_working_day(self, day: date) -> date:
        """The first working day on or after `day`."""
        for offset in range(MAX_CLOSED_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise NoWorkingTime(f"no working day within {MAX_CLOSED_DAYS} days of {day.isoformat()}")

    def local(self, moment: datetime) -> datetime:
        """`moment` (aware) as a naive local wall time in this calendar's zone."""
        require_aware(moment)
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def aware(self, wall: datetime) -> datetime:
        """A naive local wall time as an aware datetime with its local offset."""
        return wall.replace(tzinfo=self.tz)

    def clock_in(self, wall: datetime) -> datetime:
        """The first working moment at or after local wall time `wall` (naive)."""
        day = wall.date()
        if self.is_working_day(day):
            if wall.time() < self.opens:
                return _wall(day, self.opens)
            if wall.time() < self.closes:
                return wall
        day = self.next_working_day(day + timedelta(days=1))
        return _wall(day, self.opens)

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time after `start` (aware in, aware local out).

        A start outside working hours counts from the next opening. A result
        that lands exactly on closing time stays there (the work is due by
        close of play), rather than moving to the next opening.
        """
        if amount < timedelta(0):
            raise TimescaleError("working time to add must not be negative")
        wall = self.clock_in(self.local(start))
        remaining = amount
        while True:
            available = _wall(wall.date(), self.closes) - wall
            if remaining <= available:
                return self.aware(wall + remaining)
            remaining -= available
            wall = _wall(self.next_working_day(wall.date() + timedelta(days=1)), self.opens)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (negative if `end` is earlier)."""
        if end < start:
            return -self.working_time_between(end, start)
        a, b = self.local(start), self.local(end)
        total = timedelta(0)
        cursor = self.clock_in(a)
        while cursor < b:
            close = _wall(cursor.date(), self.closes)
            total += min(close, b) - cursor
            cursor = _wall(self.next_working_day(cursor.date() + timedelta(days=1)), self.opens)
        return total


#: The default calendar: Mon-Fri 09:00-17:00 Europe/London, England and Wales bank holidays.
DEFAULT_CALENDAR = WorkingCalendar()


def home_calendar(home: Home) -> WorkingCalendar:
    """The home's calendar (`config/timescales.toml`) if there is one, else the default."""
    path = home.config_dir / CALENDAR_FILE
    return load_calendar(path) if path.is_file() else DEFAULT_CALENDAR


def load_calendar(path: Path) -> WorkingCalendar:
    """Read a local authority's calendar and timescales from a TOML file.

    ```toml
    [calendar]
    opens = "09:00"
    closes = "17:00"
    working_weekdays = [0, 1, 2, 3, 4]
    extra_closures = ["2026-12-24"]
    at_risk_hours = 1

    [timescales]       # working hours per RAG
    red_hours = 4
    amber_hours = 8
    green_hours = 24
    ```
    Unknown keys are refused, so a typo never silently keeps a default.
    """
    try:
        doc = TomlDocument.read(path)
    except ConfigError as exc:
        raise CalendarConfigError(str(exc)) from None
    return calendar_from_mapping(doc.data, doc)


#: working hours (a timescale): more than none
_Hours = Annotated[float, msgspec.Meta(gt=0)]


class CalendarEntry(Strict, frozen=True):
    """The `[calendar]` table of `timescales.toml`."""

    #: wall times "HH:MM" (a TOML time is read as one)
    opens: str | None = None
    closes: str | None = None
    working_weekdays: Annotated[tuple[Annotated[int, msgspec.Meta(ge=0, le=6)], ...],
                                msgspec.Meta(min_length=1)] = (0, 1, 2, 3, 4)
    extra_closures: tuple[date, ...] = ()
    at_risk_hours: Annotated[float, msgspec.Meta(ge=0)] = 1
    timezone: str | None = None


class TimescalesEntry(Strict, frozen=True):
    """The `[timescales]` table of `timescales.toml`: working hours per RAG."""

    red_hours: _Hours = 4
    amber_hours: _Hours = 8
    green_hours: _Hours = 24


class CalendarFile(Strict, frozen=True):
    """`timescales.toml` as written (see `load_calendar`)."""

    calendar: CalendarEntry = msgspec.field(default_factory=CalendarEntry)
    timescales: TimescalesEntry = msgspec.field(default_factory=TimescalesEntry)


def calendar_from_mapping(data: Mapping[str, object],
                          doc: TomlDocument | None = None) -> WorkingCalendar:
    """Build a `WorkingCalendar` from parsed TOML (see `load_calendar`).

    Every error is a `CalendarConfigError` naming the field (and, given the `doc` the data was
    read from, the file and line).
    """
    cal = data.get("calendar")
    if isinstance(cal, Mapping):
        # a TOML local time (opens = 09:00) reads as the same wall time as the string form
        data = {**data, "calendar": {k: v.isoformat() if isinstance(v, time) else v
                                     for k, v in cal.items()}}
    try:
        raw = decode(CalendarFile, data, doc.source if doc else "timescales",
                     lines=doc.lines if doc else None)
    except ConfigError as exc:
        raise _calendar_error(exc.field, exc.problem, doc) from None
    c, ts = raw.calendar, raw.timescales
    default = DEFAULT_CALENDAR
    try:
        return WorkingCalendar(
            opens=_parse_time("calendar.opens", c.opens, default.opens),
            closes=_parse_time("calendar.closes", c.closes, default.closes),
            working_weekdays=frozenset(c.working_weekdays),
            tz=_parse_zone(c.timezone),
            extra_closures=frozenset(c.extra_closures),
            timescales=Timescales(red=timedelta(hours=ts.red_hours),
                                  amber=timedelta(hours=ts.amber_hours),
                                  green=timedelta(hours=ts.green_hours)),
            at_risk_margin=timedelta(hours=c.at_risk_hours),
        )
    except CalendarConfigError as exc:
        field_name, _, problem = str(exc).partition(": ")
        raise _calendar_error(field_name, problem, doc) from None


def _calendar_error(field_name: str, problem: str, doc: TomlDocument | None
                    ) -> CalendarConfigError:
    if doc is None:
        return CalendarConfigError(f"{field_name}: {problem}")
    return CalendarConfigError(str(doc.error(field_name, problem)))


# ------------------------------------------------------------------ helpers

def _wall(day: date, at: time) -> datetime:
    return datetime.combine(day, at)


def require_aware(moment: datetime) -> None:
    """Raise `NaiveDatetime` unless `moment` carries a UTC offset (we never guess the zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetime(f"datetime without UTC offset: {moment.isoformat()}")


def _parse_time(name: str, value: str | None, default: time) -> time:
    if value is None:
        return default
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise CalendarConfigError(f"{name}: expected HH:MM, got {value!r}") from None


def _parse_zone(value: str | None) -> ZoneInfo:
    if value is None:
        return LONDON
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarConfigError(f"calendar.timezone: unknown zone {value!r}") from None
