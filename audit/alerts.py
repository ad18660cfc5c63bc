"""Alerts: break-glass, repeated denials, volume spikes and after-hours access.

An `AlertMonitor` watches entries as the writer commits them (`AuditLog.open(
..., on_commit=[monitor])`), applies its rules, hands each alert to a
pluggable `Notifier` (log-only by default) and records it as an `alert` entry
in the same log. Rules keep only ids and counts, never personal data.
The same rules can be replayed over existing logs (`scan`).
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from audit.applog import emit
from audit.events import AuditEvent, EventKind
from audit.hours import OfficeHours, parse_ts
from mash.clock import Clock, utc_now
from mash.working_calendar import DEFAULT_CALENDAR, WorkingCalendar


@dataclass(frozen=True)
class Alert:
    """Something an IG lead should look at."""

    rule: str
    message: str  # ids and counts only
    entry_id: int
    actor_id: str | None = None
    referral_id: str | None = None
    log: str = ""


class Notifier(Protocol):
    """Where alerts go besides the log (e-mail, a SIEM, a chat channel ...)."""

    def notify(self, alert: Alert) -> None:
        """Deliver one alert. Must not block for long: it runs on the writer thread."""
        ...


class LogNotifier:
    """The default notifier: one structured application-log line per alert."""

    def notify(self, alert: Alert) -> None:
        """Log the alert (rule, entry, actor id; no personal data)."""
        emit("audit.alerts", "warning", "audit_alert", rule=alert.rule, entry_id=alert.entry_id,
                     actor_id=alert.actor_id, referral_id=alert.referral_id, log=alert.log,
                     message=alert.message)


class Rule(Protocol):
    """One alert rule: look at a committed entry, maybe raise an alert.

    A rule may declare `kinds` (a set of `EventKind`): it is then only shown
    entries of those kinds. Most entries concern no rule, and the monitor runs
    on the audit writer thread for every entry, so this keeps it cheap.
    """

    def check(self, entry_id: int, at: datetime, event: AuditEvent) -> Alert | None:
        """An alert for this entry, or None."""
        ...


class BreakGlassRule:
    """Every break-glass use alerts."""

    kinds = frozenset({EventKind.BREAK_GLASS})

    def check(self, entry_id: int, at: datetime, event: AuditEvent) -> Alert | None:
        """Alert on `break_glass` entries."""
        if event.kind is not EventKind.BREAK_GLASS:
            return None
        return Alert("break_glass", "break-glass access used", entry_id, event.actor_id,
                     event.referral_id)


class _Window:
    """Per-key timestamps within a sliding window."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self.seen: dict[str, deque[datetime]] = defaultdict(deque)

    def add(self, key: str, at: datetime) -> int:
        q = self.seen[key]
        q.append(at)
        while q and at - q[0] > self.window:
            q.popleft()
        return len(q)


class RepeatedDenialsRule:
    """A requester denied in `threshold` lookups within `window` (fishing for access?).

    A lookup is one request however many agencies it names: its per-agency denials
    count once, so one refused lookup to five agencies is not "repeated".
    """

    kinds = frozenset({EventKind.POLICY_DECISION})

    def __init__(self, threshold: int = 3, window: timedelta = timedelta(hours=1)) -> None:
        self.threshold = threshold
        self._w = _Window(window)
        self._counted: dict[str, None] = {}  # lookup ids already counted (bounded, oldest out)

    def check(self, entry_id: int, at: datetime, event: AuditEvent) -> Alert | None:
        """Alert when a requester reaches the threshold (once per crossing)."""
        if event.kind is not EventKind.POLICY_DECISION or event.decision != "DENY" \
                or not event.actor_id:
            return None
        if event.lookup_id:
            if event.lookup_id in self._counted:
                return None
            self._counted[event.lookup_id] = None
            if len(self._counted) > 10_000:
                del self._counted[next(iter(self._counted))]
        if self._w.add(event.actor_id, at) != self.threshold:
            return None
        return Alert("repeated_denials",
                     f"{self.threshold} denials within {self._w.window} for one requester",
                     entry_id, event.actor_id, event.referral_id)


class VolumeSpikeRule:
    """A requester making more than `threshold` lookups within `window`."""

    kinds = frozenset({EventKind.LOOKUP_REQUESTED})

    def __init__(self, threshold: int = 30, window: timedelta = timedelta(hours=1)) -> None:
        self.threshold = threshold
        self._w = _Window(window)

    def check(self, entry_id: int, at: datetime, event: AuditEvent) -> Alert | None:
        """Alert when a requester's lookups cross the threshold (once per crossing)."""
        if event.kind is not EventKind.LOOKUP_REQUESTED or not event.actor_id:
            return None
        if self._w.add(event.actor_id, at) != self.threshold + 1:
            return None
        return Alert("volume_spike",
                     f"more than {self.threshold} lookups within {self._w.window} "
                     "by one requester", entry_id, event.actor_id, event.referral_id)


class AfterHoursRule:
    """After-hours lookups and summary views: one alert per requester per after-hours session.

    The first after-hours access by a requester alerts; a further one within `session`
    of their previous one belongs to the same session and does not (an emergency duty
    team working a night must not bury the IG lead in one alert per lookup). Every
    after-hours entry stays findable with `mash audit search --after-hours`.
    """

    kinds = frozenset({EventKind.LOOKUP_REQUESTED, EventKind.SUMMARY_VIEWED})

    def __init__(self, hours: OfficeHours | None = None,
                 session: timedelta = timedelta(hours=1), clock: Clock = utc_now) -> None:
        self.hours = hours or OfficeHours()
        self.session = session
        self._last: dict[str, datetime] = {}  # requester -> their last after-hours access
        # The first check builds this year's bank-holiday table (~0.1 s): do it here, not on
        # the audit writer thread in the middle of the first lookup's commits.
        self.hours.prepare(clock())

    def check(self, entry_id: int, at: datetime, event: AuditEvent) -> Alert | None:
        """Alert on the first after-hours lookup or summary view of a requester's session."""
        if event.kind not in (EventKind.LOOKUP_REQUESTED, EventKind.SUMMARY_VIEWED):
            return None
        if not self.hours.is_after_hours(at):
            return None
        if event.actor_id:
            last = self._last.pop(event.actor_id, None)
            self._last[event.actor_id] = at  # re-inserted: the dict stays oldest-first
            if len(self._last) > 10_000:
                del self._last[next(iter(self._last))]
            if last is not None and timedelta(0) <= at - last < self.session:
                return None
        return Alert("after_hours", f"{event.kind.value} outside office hours", entry_id,
                     event.actor_id, event.referral_id)


def default_rules(calendar: WorkingCalendar = DEFAULT_CALENDAR) -> list[Rule]:
    """The standard rule set; "after hours" is outside `calendar` (the home's, `home_calendar`)."""
    return [BreakGlassRule(), RepeatedDenialsRule(), VolumeSpikeRule(),
            AfterHoursRule(OfficeHours(calendar))]


class _Submitter(Protocol):
    def submit(self, event: AuditEvent) -> Future[int]: ...


class AlertMonitor:
    """Applies rules to committed entries; notifies, and records each alert in the log."""

    def __init__(self, rules: Sequence[Rule] | None = None,
                 notifier: Notifier | None = None, *, log_name: str = "") -> None:
        self.rules = list(rules) if rules is not None else default_rules()
        self.notifier: Notifier = notifier or LogNotifier()
        self.log_name = log_name
        self._sink: _Submitter | None = None
        self._lock = threading.Lock()
        # kind -> the rules to run for it; a rule without `kinds` sees every entry
        self._by_kind: dict[EventKind, list[Rule]] = {
            kind: [r for r in self.rules if kind in getattr(r, "kinds", (kind,))]
            for kind in EventKind}

    @property
    def kinds(self) -> frozenset[EventKind] | None:
        """The kinds of entry any rule watches (None: some rule watches every entry)."""
        watched: set[EventKind] = set()
        for rule in self.rules:
            rule_kinds = getattr(rule, "kinds", None)
            if rule_kinds is None:
                return None
            watched |= set(rule_kinds)
        return frozenset(watched - {EventKind.ALERT})  # alerts never alert

    def attach(self, log: _Submitter) -> None:
        """Record alerts as `alert` entries in `log` (the log this monitor watches)."""
        self._sink = log

    def __call__(self, entry_id: int, ts: str, event: AuditEvent) -> list[Alert]:
        """Check one committed entry (the `on_commit` hook)."""
        rules = self._by_kind[event.kind] if event.kind is not EventKind.ALERT else ()
        if not rules:
            return []
        at = parse_ts(ts)
        with self._lock:
            alerts = [a for a in (rule.check(entry_id, at, event) for rule in rules) if a]
        for alert in alerts:
            alert = Alert(alert.rule, alert.message, alert.entry_id, alert.actor_id,
                          alert.referral_id, self.log_name)
            try:
                self.notifier.notify(alert)
            except Exception as exc:  # a broken notifier must not stop the audit writer
                emit("audit.alerts", "error", "audit_notifier_failed", rule=alert.rule,
                     error=type(exc).__name__)
            if self._sink is not None:
                self._sink.submit(AuditEvent(
                    kind=EventKind.ALERT, reasons=(alert.rule,), actor_id=alert.actor_id,
                    referral_id=alert.referral_id, refers_to=(alert.entry_id,),
                    outcome=alert.message))
        return alerts


def scan(records: Iterable[tuple[str, int, str, AuditEvent]],
         rules: Sequence[Rule] | None = None) -> list[Alert]:
    """Replay rules over (log, entry id, ts, event) in time order; the alerts they raise."""
    monitors: dict[str, AlertMonitor] = {}
    out: list[Alert] = []
    for log, entry_id, ts, event in records:
        monitor = monitors.setdefault(log, AlertMonitor(
            rules if rules is not None else default_rules(), _Silent(), log_name=log))
        out.extend(Alert(a.rule, a.message, a.entry_id, a.actor_id, a.referral_id, log)
                   for a in monitor(entry_id, ts, event))
    return out


class _Silent:
    def notify(self, alert: Alert) -> None:
        """Drop the alert (a scan only reports)."""

