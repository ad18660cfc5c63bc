"""RAG timescale arithmetic: weekends, bank holidays, clock changes, out-of-hours receipt."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from broker.timescales import (
    DEFAULT_CALENDAR,
    LONDON,
    CalendarConfigError,
    NaiveDatetime,
    NoWorkingTime,
    Timescales,
    WorkingCalendar,
    at_risk,
    breached,
    calendar_from_mapping,
    due_at,
    load_calendar,
    timescale_state,
)
from mash.app.cli import main
from mash.vocab import Rag, UnknownVocabulary

pytestmark = pytest.mark.clock_sensitive


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def london(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def iso(moment: datetime) -> str:
    return moment.isoformat()


# ---------------------------------------------------------------- plain days

def test_red_within_one_day() -> None:
    # Tuesday 10:00 GMT + 4 working hours = 14:00 the same day.
    assert iso(due_at(utc("2026-11-24T10:00"), Rag.RED)) == "2026-11-24T14:00:00+00:00"


def test_red_spills_into_next_day() -> None:
    # Tuesday 15:00 -> 2h Tuesday, 2h Wednesday.
    assert iso(due_at(utc("2026-11-24T15:00"), Rag.RED)) == "2026-11-25T11:00:00+00:00"


def test_due_exactly_at_close_stays_at_close() -> None:
    assert iso(due_at(utc("2026-11-24T13:00"), Rag.RED)) == "2026-11-24T17:00:00+00:00"


def test_amber_is_one_working_day() -> None:
    assert iso(due_at(utc("2026-11-24T11:15"), Rag.AMBER)) == "2026-11-25T11:15:00+00:00"


def test_green_is_three_working_days() -> None:
    assert iso(due_at(utc("2026-11-24T11:15"), Rag.GREEN)) == "2026-11-27T11:15:00+00:00"


def test_rag_given_as_string() -> None:
    assert due_at(utc("2026-11-24T10:00"), "red") == due_at(utc("2026-11-24T10:00"), Rag.RED)


def test_unknown_rag_is_refused() -> None:
    with pytest.raises(UnknownVocabulary):
        due_at(utc("2026-11-24T10:00"), "purple")


# ---------------------------------------------------------------- out of hours, weekends

def test_received_before_opening_counts_from_opening() -> None:
    assert iso(due_at(utc("2026-11-24T07:42"), Rag.RED)) == "2026-11-24T13:00:00+00:00"


def test_received_after_closing_counts_from_next_opening() -> None:
    assert iso(due_at(utc("2026-11-24T19:05"), Rag.RED)) == "2026-11-25T13:00:00+00:00"


def test_received_exactly_at_closing_counts_from_next_opening() -> None:
    assert iso(due_at(utc("2026-11-24T17:00"), Rag.RED)) == "2026-11-25T13:00:00+00:00"


def test_friday_afternoon_red_runs_to_monday() -> None:
    # Friday 27 Nov 2026 16:00 -> 1h Friday, 3h Monday.
    assert iso(due_at(utc("2026-11-27T16:00"), Rag.RED)) == "2026-11-30T12:00:00+00:00"


def test_received_on_saturday_counts_from_monday() -> None:
    assert iso(due_at(utc("2026-11-28T10:00"), Rag.AMBER)) == "2026-11-30T17:00:00+00:00"


def test_green_over_a_weekend() -> None:
    # Thursday 26 Nov 12:00 -> Thu 5h, Fri 8h, Mon 8h, Tue 3h.
    assert iso(due_at(utc("2026-11-26T12:00"), Rag.GREEN)) == "2026-12-01T12:00:00+00:00"


# ---------------------------------------------------------------- bank holidays

def test_issue_example_christmas_eve_red() -> None:
    # Thu 24 Dec 15:30: 1.5h; Fri 25 Christmas, weekend, Mon 28 Boxing Day (substitute);
    # Tue 29 Dec 09:00 + 2.5h.
    assert iso(due_at(utc("2026-12-24T15:30"), Rag.RED)) == "2026-12-29T11:30:00+00:00"


def test_green_over_christmas_and_new_year() -> None:
    # Wed 23 Dec 2026 10:00: Wed 7h, Thu 24 8h, (25, 26, 27, 28 closed), Tue 29 8h, Wed 30 1h.
    assert iso(due_at(utc("2026-12-23T10:00"), Rag.GREEN)) == "2026-12-30T10:00:00+00:00"


def test_christmas_2027_double_substitute_days() -> None:
    # 25 and 26 Dec 2027 fall on a weekend: Mon 27 and Tue 28 are both bank holidays.
    assert not DEFAULT_CALENDAR.is_working_day(date(2027, 12, 27))
    assert not DEFAULT_CALENDAR.is_working_day(date(2027, 12, 28))
    assert iso(due_at(utc("2027-12-24T16:00"), Rag.AMBER)) == "2027-12-29T16:00:00+00:00"


def test_easter_good_friday_and_easter_monday() -> None:
    # Thursday 2 April 2026 (BST) 14:00: Thu 3h; Fri 3 Apr Good Friday, weekend,
    # Mon 6 Apr Easter Monday; Tue 7 Apr 09:00 + 5h.
    due = due_at(london("2026-04-02T14:00"), Rag.AMBER)
    assert iso(due) == "2026-04-07T14:00:00+01:00"


def test_new_years_day_is_closed() -> None:
    assert iso(due_at(utc("2026-12-31T16:00"), Rag.RED)) == "2027-01-04T12:00:00+00:00"


def test_extra_local_closure() -> None:
    calendar = WorkingCalendar(extra_closures=frozenset({date(2026, 11, 25)}))
    assert iso(due_at(utc("2026-11-24T15:00"), Rag.RED, calendar)) == "2026-11-26T11:00:00+00:00"


def test_other_years_bank_holidays_known() -> None:
    assert not DEFAULT_CALENDAR.is_working_day(date(2027, 3, 26))  # Good Friday 2027
    assert not DEFAULT_CALENDAR.is_working_day(date(2027, 5, 3))  # Early May 2027
    assert DEFAULT_CALENDAR.is_working_day(date(2027, 3, 25))


# ---------------------------------------------------------------- clock changes

def test_spring_forward_weekend_keeps_wall_clock_hours() -> None:
    # Clocks go forward 01:00 GMT on Sunday 29 March 2026.
    # Friday 27 March 16:00 GMT: 1h Friday, 3h Monday -> Monday 12:00 BST (= 11:00 UTC).
    due = due_at(utc("2026-03-27T16:00"), Rag.RED)
    assert iso(due) == "2026-03-30T12:00:00+01:00"
    assert due.astimezone(UTC) == utc("2026-03-30T11:00")


def test_fall_back_weekend_keeps_wall_clock_hours() -> None:
    # Clocks go back 02:00 BST on Sunday 25 October 2026.
    # Friday 23 October 16:00 BST (15:00 UTC) -> Monday 26 October 12:00 GMT.
    due = due_at(utc("2026-10-23T15:00"), Rag.RED)
    assert iso(due) == "2026-10-26T12:00:00+00:00"


def test_green_across_spring_forward() -> None:
    assert iso(due_at(utc("2026-03-27T16:00"), Rag.GREEN)) == "2026-04-01T16:00:00+01:00"


def test_receipt_on_clock_change_night_in_utc() -> None:
    # 01:30 UTC on 29 March is 02:30 BST on a Sunday: counts from Monday 09:00 BST.
    assert iso(due_at(utc("2026-03-29T01:30"), Rag.RED)) == "2026-03-30T13:00:00+01:00"


def test_received_in_another_offset_is_converted() -> None:
    # 09:00 at +02:00 is 07:00 UTC = before opening in London.
    received = datetime.fromisoformat("2026-11-24T09:00:00+02:00")
    assert iso(due_at(received, Rag.RED)) == "2026-11-24T13:00:00+00:00"


def test_naive_received_is_refused() -> None:
    with pytest.raises(NaiveDatetime):
        due_at(datetime(2026, 11, 24, 10, 0), Rag.RED)


# ---------------------------------------------------------------- working time between, flags

def test_working_time_between_spans_weekend_and_clock_change() -> None:
    start, end = utc("2026-03-27T16:00"), london("2026-03-30T12:00")
    assert DEFAULT_CALENDAR.working_time_between(start, end) == timedelta(hours=4)
    assert DEFAULT_CALENDAR.working_time_between(end, start) == -timedelta(hours=4)


def test_breached_and_at_risk() -> None:
    due = utc("2026-11-24T14:00")
    assert not breached(due, utc("2026-11-24T14:00"))
    assert breached(due, utc("2026-11-24T14:00:01"))
    assert at_risk(due, utc("2026-11-24T13:00"))
    assert not at_risk(due, utc("2026-11-24T12:59"))
    assert not at_risk(due, utc("2026-11-24T15:00"))  # breached, not at risk


def test_at_risk_counts_working_time_not_wall_time() -> None:
    # Due Monday 09:30; on Friday 16:45 there are 45 working minutes left.
    due = utc("2026-11-30T09:30")
    assert at_risk(due, utc("2026-11-27T16:45"))
    assert not at_risk(due, utc("2026-11-27T16:00"))


def test_timescale_state_words() -> None:
    due = utc("2026-11-24T14:00")
    assert timescale_state(due, utc("2026-11-24T10:00")) == "on_track"
    assert timescale_state(due, utc("2026-11-24T13:30")) == "at_risk"
    assert timescale_state(due, utc("2026-11-24T14:30")) == "breached"


def test_flags_refuse_naive_times() -> None:
    with pytest.raises(NaiveDatetime):
        breached(utc("2026-11-24T14:00"), datetime(2026, 11, 24, 15, 0))


# ---------------------------------------------------------------- configuration

def test_custom_hours_and_timescales() -> None:
    calendar = WorkingCalendar(opens=time(8, 30), closes=time(16, 30),
                               timescales=Timescales(red=timedelta(hours=2)))
    assert iso(due_at(utc("2026-11-24T16:00"), Rag.RED, calendar)) == "2026-11-25T10:00:00+00:00"


def test_load_calendar_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "timescales.toml"
    path.write_text('[calendar]\nopens = "08:00"\ncloses = "18:00"\n'
                    'extra_closures = ["2026-11-25"]\n[timescales]\nred_hours = 6\n')
    calendar = load_calendar(path)
    assert calendar.working_day == timedelta(hours=10)
    assert iso(due_at(utc("2026-11-24T15:00"), Rag.RED, calendar)) == "2026-11-26T11:00:00+00:00"


@pytest.mark.parametrize("data, field", [
    ({"calendar": {"opnes": "09:00"}}, "calendar.opnes"),
    ({"calendar": {"opens": "18:00"}}, "calendar.closes"),
    ({"calendar": {"opens": "nine"}}, "calendar.opens"),
    ({"timescales": {"red_hours": 0}}, "timescales.red"),
    ({"calendar": {"timezone": "Mars/Olympus"}}, "calendar.timezone"),
    ({"calendar": {"extra_closures": ["Christmas"]}}, "calendar.extra_closures"),
    ({"calendar": {"working_weekdays": [7]}}, "calendar.working_weekdays"),
])
def test_bad_config_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(CalendarConfigError, match=field.replace(".", r"\.")):
        calendar_from_mapping(data)


def test_calendar_with_no_working_days_fails_closed() -> None:
    calendar = WorkingCalendar(working_weekdays=frozenset({6}),
                               extra_closures=frozenset(date(2026, 11, 22) + timedelta(days=7 * i)
                                                        for i in range(60)))
    with pytest.raises(NoWorkingTime):
        due_at(utc("2026-11-24T10:00"), Rag.RED, calendar)


# ---------------------------------------------------------------- CLI

def test_cli_prints_issue_example(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["timescale", "--rag", "red", "--received", "2026-12-24T15:30:00+00:00",
               "--home", str(tmp_path)])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["due"] == "2026-12-29T11:30:00+00:00"


def test_cli_state_with_now(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc = main(["timescale", "--rag", "red", "--received", "2026-11-24T10:00:00+00:00",
               "--now", "2026-11-24T13:30:00Z", "--home", str(tmp_path)])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["state"] == "at_risk"


def test_cli_uses_home_calendar(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "timescales.toml").write_text("[timescales]\nred_hours = 1\n")
    main(["timescale", "--rag", "red", "--received", "2026-11-24T10:00:00+00:00",
          "--home", str(tmp_path)])
    assert json.loads(capsys.readouterr().out)["due"] == "2026-11-24T11:00:00+00:00"


@pytest.mark.parametrize("argv", [
    ["--rag", "purple", "--received", "2026-12-24T15:30:00+00:00"],
    ["--rag", "red", "--received", "2026-12-24T15:30:00"],
    ["--rag", "red", "--received", "yesterday"],
])
def test_cli_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str],
                               tmp_path: Path) -> None:
    assert main(["timescale", *argv, "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mash: error:") and err.count("\n") == 1
