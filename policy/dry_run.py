"""`mash policy dry-run`: replay recorded requests against a draft and list what would change.

Replay works over any iterable of recorded request dicts, in one of three shapes:

* a policy request JSON, optionally with `recorded` = {"decision", "permitted"};
* `{"request": <request JSON>, "decision": ..., "permitted": [...]}`;
* a broker audit event of kind `policy_decision` with flat fields (agency, purpose,
  statutory_gateway, rag, consent_state, consent_reason, actor_role, actor_id,
  decision, categories, time). Such an event does not record the subject role,
  so it is replayed as `child` and only the overall decision is compared.

The baseline is the recorded decision when there is one, else the current
agreements' decision. `read_broker_audit` reads `policy_decision` events from a
broker's audit log through `audit.reading`; `read_jsonl` reads an export;
`read_sqlite_events` scans any SQLite file (a fallback for other log layouts).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from mash.vocab import Decision, UnknownVocabulary, parse
from policy.engine import PolicyEngine
from policy.errors import InvalidRequest, PolicyError
from policy.request import DEFAULT_MASH_ID, PolicyRequest

_SINCE = re.compile(r"^(\d+)([hdw])$")
_EVENT_KINDS = {"policy_decision", "POLICY_DECISION"}
_TIME_KEYS = ("at", "time", "ts", "timestamp", "recorded_at", "created_at")


def parse_since(text: str) -> timedelta:
    """`30d`, `12h` or `2w` as a timedelta; raise InvalidRequest otherwise."""
    match = _SINCE.match(text.strip())
    if not match:
        raise InvalidRequest(f"--since must look like 30d, 12h or 2w, not {text!r}")
    n, unit = int(match.group(1)), match.group(2)
    return {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


@dataclass(frozen=True)
class Recorded:
    """One recorded request with what was decided at the time (if known)."""

    request: PolicyRequest
    decision: Decision | None
    permitted: tuple[str, ...] | None  # None: compare the decision only
    source: str


@dataclass(frozen=True)
class DryRunChange:
    """A recorded request whose decision would change under the draft."""

    source: str
    request: PolicyRequest
    before: str
    after: str

    def describe(self) -> str:
        """One line for the report (no personal data: requests carry none)."""
        r = self.request
        return (f"{self.source}: {r.at.isoformat()} {r.agency} {r.purpose} rag={r.rag} "
                f"consent={r.consent_state}/{r.consent_reason or 'none'} "
                f"role={r.requester_role} subject={r.subject_role}: {self.before} -> {self.after}")


@dataclass
class DryRunReport:
    """The replay's outcome."""

    replayed: int = 0
    skipped: list[str] = field(default_factory=list)
    changes: list[DryRunChange] = field(default_factory=list)


def to_recorded(data: object, source: str) -> Recorded:
    """Normalise one recorded object (any of the three shapes) into a `Recorded`."""
    if not isinstance(data, Mapping):
        raise TypeError("a recorded request must be a JSON object")
    request = data.get("request")
    if isinstance(request, Mapping):
        return Recorded(PolicyRequest.from_json(request), _decision(data.get("decision")),
                        _permitted(data.get("permitted")), source)
    if data.get("kind") in _EVENT_KINDS:
        return _from_event(data, source)
    body = {k: v for k, v in data.items() if k != "recorded"}
    recorded = data.get("recorded") or {}
    if not isinstance(recorded, Mapping):
        raise TypeError("'recorded' must be a JSON object")
    return Recorded(PolicyRequest.from_json(body), _decision(recorded.get("decision")),
                    _permitted(recorded.get("permitted")), source)


def _permitted(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(isinstance(c, str) for c in value):
        raise TypeError("'permitted' must be a list of categories")
    return tuple(value)


def dry_run(records: Iterable[tuple[str, object]], draft: PolicyEngine, *,
            current: PolicyEngine | None, since: datetime | None = None) -> DryRunReport:
    """Replay `(source, record)` pairs against `draft`; list every decision that would change."""
    report = DryRunReport()
    for source, data in records:
        try:
            rec = to_recorded(data, source)
        except (PolicyError, UnknownVocabulary, ValueError, TypeError) as exc:
            report.skipped.append(f"{source}: {exc}")
            continue
        if since is not None and rec.request.at < since:
            continue
        report.replayed += 1
        new = draft.evaluate(rec.request)
        after_permitted = tuple(sorted(str(c) for c in new.permitted_categories))
        if rec.decision is not None:
            before_decision, before_permitted = rec.decision, rec.permitted
        elif current is not None:
            old = current.evaluate(rec.request)
            before_decision = old.decision
            before_permitted = tuple(sorted(str(c) for c in old.permitted_categories))
        else:
            report.skipped.append(f"{source}: no recorded decision and no current policy")
            continue
        changed = new.decision is not before_decision or (
            before_permitted is not None and tuple(sorted(before_permitted)) != after_permitted)
        if changed:
            report.changes.append(DryRunChange(
                source, rec.request, _show(before_decision, before_permitted),
                _show(new.decision, after_permitted)))
    return report


def read_jsonl(path: Path) -> Iterator[tuple[str, object]]:
    """Records from a JSON-lines export, one object per line."""
    with path.open("r", encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                record: object = json.loads(line)
                yield f"{path.name}:{number}", record


def broker_logs(audit_dir: Path) -> list[Path]:
    """The broker audit logs in a home's audit folder (`broker-<mash_id>.sqlite`)."""
    return sorted(audit_dir.glob("broker-*.sqlite")) if audit_dir.is_dir() else []


def read_broker_audit(log: Path) -> Iterator[tuple[str, Mapping[str, object]]]:
    """Policy-decision events from one broker audit log, through `audit.reading`.

    The MASH id comes from the log's name (`broker-<mash_id>`), since every
    decision in a broker's log was made for that broker's MASH.
    """
    from audit.reading import records_where

    mash_id = log.stem.removeprefix("broker-") or DEFAULT_MASH_ID
    for record in records_where(log, "json_extract(core, '$.kind') = ?", ["policy_decision"]):
        event = record.to_json_dict()
        event.setdefault("mash_id", mash_id)
        yield f"{record.log}#{record.entry_id}", event


def read_sqlite_events(log: Path) -> Iterator[tuple[str, Mapping[str, object]]]:
    """Fallback for a log the audit reader cannot open: scan every table read-only.

    A row counts when its `kind` column (or the `kind` of a JSON object in any
    text column) is `policy_decision`.
    """
    con = sqlite3.connect(f"file:{log}?mode=ro", uri=True)
    try:
        con.row_factory = sqlite3.Row
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            for rowid, row in enumerate(con.execute(f"SELECT * FROM {quoted}"),  # noqa: S608
                                        start=1):
                event = _event_of(dict(row))
                if event is not None:
                    yield f"{table}#{rowid}", event
    finally:
        con.close()


def _event_of(row: dict[str, object]) -> dict[str, object] | None:
    merged = dict(row)
    for value in row.values():
        if isinstance(value, str) and value.startswith("{"):
            try:
                inner = json.loads(value)
            except ValueError:
                continue
            if isinstance(inner, dict):
                merged = {**inner, **{k: v for k, v in merged.items() if v is not None}}
    return merged if merged.get("kind") in _EVENT_KINDS else None


def _from_event(e: Mapping[str, object], source: str) -> Recorded:
    at = next((e[k] for k in _TIME_KEYS if e.get(k)), None)
    if isinstance(at, int | float):
        at = datetime.fromtimestamp(at / (1000 if at > 1e11 else 1)).astimezone().isoformat()
    raw_detail = e.get("detail")
    detail: Mapping[str, object] = raw_detail if isinstance(raw_detail, Mapping) else {}
    request = {
        "agency": e.get("agency"), "purpose": e.get("purpose"),
        "statutory_gateway": e.get("statutory_gateway"), "rag": e.get("rag"),
        "consent": {"state": e.get("consent_state"), "reason": e.get("consent_reason")},
        "requester": {"role": e.get("actor_role"), "id": e.get("actor_id") or "unknown"},
        # The broker's event does not record the subject role; replay as the child.
        "subject_role": e.get("subject_role") or detail.get("subject_role") or "child",
        "at": at, "mash_id": e.get("mash_id") or e.get("broker_id") or DEFAULT_MASH_ID,
    }
    return Recorded(PolicyRequest.from_json(request), _decision(e.get("decision")), None, source)


def _decision(value: object) -> Decision | None:
    return None if value in (None, "") else parse(Decision, value)


def _show(decision: Decision, permitted: tuple[str, ...] | None) -> str:
    if permitted is None or decision is Decision.DENY:
        return str(decision)
    return f"{decision} ({', '.join(sorted(permitted)) or 'nothing'})"
