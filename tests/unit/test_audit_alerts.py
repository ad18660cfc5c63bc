from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.alerts import (
    AfterHoursRule,
    Alert,
    AlertMonitor,
    BreakGlassRule,
    RepeatedDenialsRule,
    VolumeSpikeRule,
)
from audit.events import AuditEvent, EventKind
from audit.hours import parse_ts
from audit.log import AuditLog, verify_log
from audit.query import SearchFilter, search_paths
from mash import working_calendar
from mash.app.cli import main
from mash.home import Home
from tests.unit.audit_helpers import FakeClock
from tests.unit.audit_scenario import MONDAY_10, SATURDAY_23, build

pytestmark = pytest.mark.clock_sensitive


class Collect:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)


def test_break_glass_alerts_the_notifier_and_is_recorded_in_the_log(tmp_path: Path) -> None:
    notifier = Collect()
    monitor = AlertMonitor([BreakGlassRule()], notifier, log_name="broker")
    path = tmp_path / "broker.sqlite"
    with AuditLog.open(path, owner="broker", on_commit=[monitor],
                       clock=FakeClock(MONDAY_10)) as log:
        monitor.attach(log)
        log.append(AuditEvent(kind=EventKind.LOOKUP_REQUESTED, actor_id="sw-1"))
        glass = log.append(AuditEvent(kind=EventKind.BREAK_GLASS, actor_id="sw-1",
                                      referral_id="R1"))
    assert [(a.rule, a.entry_id, a.actor_id) for a in notifier.alerts] == [
        ("break_glass", glass, "sw-1")]
    recorded = search_paths([path], SearchFilter(kinds=("alert",)))
    assert [(r.event.reasons, r.event.refers_to) for r in recorded] == [
        (("break_glass",), (glass,))]
    assert verify_log(path).ok


def test_repeated_denials_for_one_requester() -> None:
    rule = RepeatedDenialsRule(threshold=3, window=timedelta(hours=1))
    deny = AuditEvent(kind=EventKind.POLICY_DECISION, decision="DENY", actor_id="sw-2")
    hits = [rule.check(i, MONDAY_10 + timedelta(minutes=10 * i), deny) for i in range(4)]
    assert [h is not None for h in hits] == [False, False, True, False]
    other = AuditEvent(kind=EventKind.POLICY_DECISION, decision="DENY", actor_id="sw-3")
    assert rule.check(9, MONDAY_10, other) is None


def test_one_lookup_denied_by_every_agency_counts_once() -> None:
    rule = RepeatedDenialsRule(threshold=3, window=timedelta(hours=1))
    hits = []
    for lookup in ("L1", "L2"):
        for _agency in range(5):  # five per-agency denials of one lookup
            deny = AuditEvent(kind=EventKind.POLICY_DECISION, decision="DENY", actor_id="sw-5",
                              lookup_id=lookup)
            hits.append(rule.check(0, MONDAY_10, deny))
    assert all(h is None for h in hits)  # two denied lookups: under the threshold of three
    third = AuditEvent(kind=EventKind.POLICY_DECISION, decision="DENY", actor_id="sw-5",
                       lookup_id="L3")
    assert rule.check(0, MONDAY_10, third) is not None


def test_denials_spread_beyond_the_window_do_not_alert() -> None:
    rule = RepeatedDenialsRule(threshold=3, window=timedelta(hours=1))
    deny = AuditEvent(kind=EventKind.POLICY_DECISION, decision="DENY", actor_id="sw-2")
    assert all(rule.check(i, MONDAY_10 + timedelta(hours=i), deny) is None for i in range(5))


def test_volume_spike() -> None:
    rule = VolumeSpikeRule(threshold=5, window=timedelta(hours=1))
    look = AuditEvent(kind=EventKind.LOOKUP_REQUESTED, actor_id="sw-4")
    hits = [rule.check(i, MONDAY_10 + timedelta(minutes=i), look) for i in range(8)]
    assert [i for i, h in enumerate(hits) if h] == [5]


@pytest.mark.parametrize(("moment", "after"), [
    (MONDAY_10, False),
    (SATURDAY_23, True),
    (MONDAY_10.replace(hour=19), True),
    (MONDAY_10.replace(month=12, day=25), True),            # Christmas Day, a Friday
    (MONDAY_10.replace(month=7, day=6, hour=15, minute=30), False),  # 16:30 BST
    (MONDAY_10.replace(month=7, day=6, hour=16, minute=30), True),   # 17:30 BST
    (MONDAY_10.replace(hour=8, minute=30), True),           # before the calendar opens
])
def test_after_hours_uses_london_time_and_bank_holidays(moment, after) -> None:  # type: ignore[no-untyped-def]
    e = AuditEvent(kind=EventKind.LOOKUP_REQUESTED, actor_id="sw-5")
    assert (AfterHoursRule().check(1, moment, e) is not None) is after


def test_after_hours_alerts_once_per_requester_session() -> None:
    rule = AfterHoursRule(session=timedelta(hours=1))
    look = AuditEvent(kind=EventKind.LOOKUP_REQUESTED, actor_id="edt-1")
    other = AuditEvent(kind=EventKind.LOOKUP_REQUESTED, actor_id="edt-2")
    times = [SATURDAY_23 + timedelta(minutes=m) for m in (0, 10, 50, 100, 105)]
    hits = [rule.check(i, t, look) is not None for i, t in enumerate(times)]
    # 0 opens a session; 10 and 50 continue it; 100 is 50 min after 50 (same session);
    # nothing alerts again until an hour passes without after-hours access.
    assert hits == [True, False, False, False, False]
    assert rule.check(9, SATURDAY_23 + timedelta(minutes=10), other) is not None
    assert rule.check(10, SATURDAY_23 + timedelta(minutes=170), look) is not None


def test_parse_ts_reads_entry_timestamps_as_utc() -> None:
    assert parse_ts("2026-11-25T21:04:05.123456Z") == datetime(2026, 11, 25, 21, 4, 5, 123456,
                                                               tzinfo=UTC)


def test_a_failing_notifier_does_not_stop_the_writer(tmp_path: Path) -> None:
    class Broken:
        def notify(self, alert: Alert) -> None:
            raise RuntimeError("smtp down")

    monitor = AlertMonitor([BreakGlassRule()], Broken())
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker", on_commit=[monitor]) as log:
        monitor.attach(log)
        log.append(AuditEvent(kind=EventKind.BREAK_GLASS))
        assert log.append(AuditEvent(kind=EventKind.QUERY_SENT)) >= 2


def test_alerts_scan_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = build(Home.at(tmp_path / "h").ensure())
    capsys.readouterr()
    assert main(["audit", "alerts", "--scan", "--home", str(s.home.root)]) == 0
    out = capsys.readouterr().out
    assert "break_glass" in out and "after_hours" in out


def test_monitor_shows_a_rule_only_the_kinds_it_declares() -> None:
    seen: dict[str, list[str]] = {"any": [], "glass": []}

    class Any_:
        def check(self, entry_id: int, at: object, event: AuditEvent) -> None:
            seen["any"].append(event.kind.value)

    class Glass:
        kinds = frozenset({EventKind.BREAK_GLASS})

        def check(self, entry_id: int, at: object, event: AuditEvent) -> None:
            seen["glass"].append(event.kind.value)

    monitor = AlertMonitor([Any_(), Glass()])  # type: ignore[list-item]
    for i, kind in enumerate((EventKind.QUERY_SENT, EventKind.BREAK_GLASS, EventKind.ALERT)):
        monitor(i + 1, "2026-11-23T10:00:00.000000Z", AuditEvent(kind=kind))
    assert seen == {"any": ["query_sent", "break_glass"], "glass": ["break_glass"]}


def test_the_log_calls_a_hook_only_for_the_kinds_it_watches(tmp_path: Path) -> None:
    seen: list[EventKind] = []

    class Watcher:
        kinds = frozenset({EventKind.BREAK_GLASS})

        def __call__(self, entry_id: int, ts: str, event: AuditEvent) -> None:
            seen.append(event.kind)

    everything: list[EventKind] = []
    with AuditLog.open(tmp_path / "b.sqlite", owner="broker",
                       on_commit=[Watcher(), lambda i, t, e: everything.append(e.kind)]) as log:
        log.append_many([AuditEvent(kind=EventKind.QUERY_SENT),
                         AuditEvent(kind=EventKind.BREAK_GLASS)])
    assert seen == [EventKind.BREAK_GLASS]
    assert everything == [EventKind.QUERY_SENT, EventKind.BREAK_GLASS]  # no `kinds`: all


def test_a_monitor_watches_the_kinds_of_its_rules() -> None:
    assert AlertMonitor([BreakGlassRule(), VolumeSpikeRule()]).kinds == {
        EventKind.BREAK_GLASS, EventKind.LOOKUP_REQUESTED}

    class Anything:
        def check(self, entry_id: int, at: datetime, event: AuditEvent) -> None:
            return None

    assert AlertMonitor([BreakGlassRule(), Anything()]).kinds is None


def test_the_after_hours_rule_builds_the_bank_holiday_table_when_made() -> None:
    # Not at its first check: that runs on the audit writer thread, inside a lookup's commits.
    working_calendar._bank_holidays.cache_clear()
    AfterHoursRule()
    assert working_calendar._bank_holidays.cache_info().currsize == 1
