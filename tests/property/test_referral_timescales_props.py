"""Properties of the working-time arithmetic (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.timescales import DEFAULT_CALENDAR, due_at
from mash.vocab import Rag

pytestmark = pytest.mark.clock_sensitive

moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC))
rags = st.sampled_from(list(Rag))


@settings(max_examples=150, deadline=None)
@given(received=moments, rag=rags)
def test_due_is_exactly_the_timescale_in_working_time(received: datetime, rag: Rag) -> None:
    due = due_at(received, rag)
    assert due > received
    assert DEFAULT_CALENDAR.working_time_between(received, due) == \
        DEFAULT_CALENDAR.timescales.for_rag(rag)


@settings(max_examples=150, deadline=None)
@given(received=moments, rag=rags)
def test_due_falls_inside_working_hours(received: datetime, rag: Rag) -> None:
    due = due_at(received, rag)
    local = due.astimezone(DEFAULT_CALENDAR.tz)
    assert DEFAULT_CALENDAR.is_working_day(local.date())
    assert DEFAULT_CALENDAR.opens < local.time().replace(tzinfo=None) <= DEFAULT_CALENDAR.closes


@settings(max_examples=100, deadline=None)
@given(received=moments, later=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)))
def test_due_is_monotonic_in_receipt_time(received: datetime, later: timedelta) -> None:
    assert due_at(received, Rag.RED) <= due_at(received + later, Rag.RED)


@settings(max_examples=100, deadline=None)
@given(received=moments)
def test_stricter_rating_is_never_due_later(received: datetime) -> None:
    red, amber, green = (due_at(received, r) for r in (Rag.RED, Rag.AMBER, Rag.GREEN))
    assert red < amber < green
