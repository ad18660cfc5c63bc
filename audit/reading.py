"""Reading the logs under a home: entries as `AuditRecord`s, and one readable line per entry.

Shared by `mash audit show`, search, SAR and the demo. Reading never needs
the pseudonym key or any agency data: the log holds ids, codes and pseudonyms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from audit.events import AuditEvent, EventKind
from audit.store import SqliteAuditStore, StoredEntry
from mash.canonical import JsonValue
from mash.home import Home
from mash.sqlvalues import SqlValue


@dataclass(frozen=True)
class AuditRecord:
    """One entry of one log, decoded."""

    log: str  # the log file's stem, e.g. `broker`, `adapter-police`
    entry_id: int
    ts: str
    event: AuditEvent
    redacted: bool  # the personal part was removed under retention

    def to_json_dict(self) -> dict[str, JsonValue]:
        """A JSON-ready dict: log, entry id, time and the event's fields."""
        out: dict[str, JsonValue] = {"log": self.log, "entry_id": self.entry_id, "ts": self.ts}
        out.update(self.event.core_dict())
        personal = self.event.personal_dict()
        if personal:
            out.update(personal)
        if self.redacted:
            out["redacted"] = True
        return out


#: What a terminal would act on rather than show: C0 and C1 controls (newline, carriage return,
#: escape sequences, backspace), DEL, the Unicode line and paragraph separators and the
#: bidirectional overrides -- and the backslash, so an escape in the output is never ambiguous.
_UNPRINTABLE = re.compile(r"[\\\x00-\x1f\x7f-\x9f"
                          r"\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def printable(text: str) -> str:
    """`text` safe to print as (part of) one line: control characters shown escaped.

    Whatever a log holds -- a caller's text, an edited file -- cannot then start a
    new line, move the cursor, recolour or erase what is on screen, or reorder it:
    content can neither imitate an entry nor hide one in an IG lead's terminal.
    """
    return _UNPRINTABLE.sub(_escape, text)


def logs_in(home: Home) -> list[Path]:
    """Every audit log file under the home, by name."""
    return sorted(home.audit_dir.glob("*.sqlite")) if home.audit_dir.is_dir() else []


def decode(log: str, entry: StoredEntry) -> AuditRecord:
    """An `AuditRecord` from a stored entry."""
    core = entry.core_dict()
    return AuditRecord(log=log, entry_id=entry.id, ts=str(core.get("ts", "")),
                       event=AuditEvent.from_parts(core, entry.personal_dict()),
                       redacted=entry.personal is None and entry.personal_hash is not None)


def records_where(path: Path, where: str, params: Iterable[SqlValue]) -> Iterator[AuditRecord]:
    """Decoded entries of the log at `path` matching a SQL condition (fixed columns, `?`)."""
    store = SqliteAuditStore.open_readonly(path)
    try:
        for entry in store.entries_where(where, list(params)):
            yield decode(path.stem, entry)
    finally:
        store.close()


def records_for_referral(home: Home, referral_id: str) -> list[AuditRecord]:
    """Every entry about `referral_id` in every log under the home, in time order."""
    out: list[AuditRecord] = []
    for path in logs_in(home):
        out.extend(records_where(path, "json_extract(core, '$.referral_id') = ?", [referral_id]))
    out.sort(key=lambda r: (r.ts, r.log, r.entry_id))
    return out


_CONTEXT_FIELDS = ("actor_id", "actor_role", "actor_org", "purpose", "statutory_gateway", "rag",
                   "consent_state", "consent_reason")


def describe(record: AuditRecord, context: AuditEvent | None = None) -> str:
    """One readable line: time, log, event kind, then the fields that matter for it.

    With `context` (the lookup's `lookup_requested` event), who/why fields that
    merely repeat it are left out, so a trail reads as a story, not a table.
    """
    e = record.event
    same = context is not None and e is not context and all(
        getattr(e, f) in (None, getattr(context, f)) for f in _CONTEXT_FIELDS)
    parts: list[str] = []
    if not same:
        if e.actor_role or e.actor_id:
            who = " ".join(x for x in (e.actor_role, e.actor_id) if x)
            parts.append(f"by {who}" + (f" ({e.actor_org})" if e.actor_org else ""))
        elif e.actor_org:
            parts.append(f"from {e.actor_org}")
    if e.agency:
        parts.append(f"agency={e.agency}")
    if not same:
        for label, value in (("purpose", e.purpose), ("gateway", e.statutory_gateway),
                             ("rag", e.rag)):
            if value:
                parts.append(f"{label}={value}")
        if e.consent_state:
            parts.append(f"consent={e.consent_state}"
                         + (f" ({e.consent_reason})" if e.consent_reason else ""))
    if e.decision:
        parts.append(f"decision={e.decision}" + (f" [{', '.join(e.reasons)}]" if e.reasons else ""))
    elif e.reasons:
        parts.append(f"reasons=[{', '.join(e.reasons)}]")
    if e.agreement_id:
        parts.append(f"agreement={e.agreement_id}"
                     + (f"@{e.agreement_version[:12]}" if e.agreement_version else ""))
    if e.categories:
        parts.append(f"categories={','.join(e.categories)}")
    for label, value in (("match", e.match_band), ("signer", e.signer_key_id),
                         ("outcome", e.outcome)):
        if value:
            parts.append(f"{label}={value}")
    if e.disclosure_hash:
        parts.append(f"disclosure={e.disclosure_hash[:12]}")
    if e.latency_ms is not None:
        parts.append(f"{e.latency_ms:.0f} ms")
    if e.refers_to:
        parts.append("re entr" + ("y " if len(e.refers_to) == 1 else "ies ")
                     + ",".join(str(i) for i in e.refers_to))
    if record.redacted:
        parts.append("(personal part redacted)")
    ts = record.ts.replace("T", " ").rstrip("Z")[:23]
    return printable(
        f"{ts}  {record.log:<18} #{record.entry_id:<6} {e.kind.value:<20} {' · '.join(parts)}")


def render_referral_trail(home: Home, referral_id: str) -> str:
    """The readable audit trail of one referral across all logs (the demo prints this)."""
    records = records_for_referral(home, referral_id)
    if not records:
        return printable(f"No audit entries for referral {referral_id}.")
    logs = sorted({r.log for r in records})
    lines = [printable(f"Audit trail for referral {referral_id} ({len(records)} entries in "
                       f"{len(logs)} logs: {', '.join(logs)})"),
             f"{'time (UTC)':<23}  {'log':<18} {'entry':<7} {'event':<20} details"]
    intents = {r.event.lookup_id: r.event for r in records
               if r.event.kind is EventKind.LOOKUP_REQUESTED and r.event.lookup_id}
    lines += [describe(r, intents.get(r.event.lookup_id or "")) for r in records]
    return "\n".join(lines)
