"""The report as plain text for the terminal (`mash summary show REFERRAL --format text`)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from broker.report.model import AgencySection, Report
from broker.timescales import LONDON

WIDTH = 100
RULE = "=" * WIDTH
THIN = "-" * WIDTH

#: How each status reads to MASH staff.
STATUS_WORDS = {
    "disclosed": "disclosed", "not_known": "not known", "possible_match": "possible match",
    "withheld": "WITHHELD", "pending_review": "pending review",
    "pending_research": "pending research (searched by hand)", "timed_out": "TIMED OUT",
    "unavailable": "UNAVAILABLE", "rejected": "REJECTED (failed verification)",
    "policy_mismatch": "policy mismatch", "not_asked": "not asked",
}

STATE_WORDS = {
    "on_track": "on track", "at_risk": "AT RISK of breaching", "breached": "BREACHED",
    "met": "met", "missed": "MISSED", "closed": "closed",
}


#: C0/C1 control characters (ESC starts terminal escape sequences) -- never echoed to a terminal.
_CONTROL = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)], "\N{REPLACEMENT CHARACTER}")


def clean(text: str) -> str:
    """`text` with control characters replaced, so agency data cannot drive the terminal."""
    return text.translate(_CONTROL)


def when(moment: datetime, tz: ZoneInfo = LONDON) -> str:
    """A time as local wall time with its zone name, e.g. `2026-11-24 10:00 GMT`."""
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def render_text(report: Report, *, include_earlier: bool = False) -> str:
    """The report as text lines for a terminal (no colour codes, so it pipes cleanly)."""
    r = report.referral
    out: list[str] = [
        RULE,
        f"MASH referral summary  {r.referral_id}".ljust(WIDTH - 30)
        + f"generated {when(report.generated_at)}".rjust(30),
        RULE,
    ]
    for known in report.known_to_csc:
        out += [f"KNOWN TO CHILDREN'S SOCIAL CARE - route to allocated worker: {known.team}",
                f"  ({known.subject_id}: {known.detail}; record {known.record_id})", ""]
    ts = report.timescale
    out += [
        f"Received   {when(r.received_at)} from {r.source.value.replace('_', ' ')}",
        f"Reason     {r.reason}",
        f"Status     {r.status.value}",
        f"RAG        {ts.rag.upper()}   due {when(ts.due_at)}   "
        f"timescale {STATE_WORDS.get(ts.state, ts.state)}",
        "Subjects",
    ]
    for s in r.subjects:
        dob = s.identifiers.get("date_of_birth", "")
        out.append(f"  {s.subject_id:<18} {s.role.value:<16} {s.display_name}"
                   + (f"  born {dob}" if dob else ""))
    out += ["", "RAG history"]
    for h in r.rag_history:
        out.append(f"  {when(h.at)}  {h.rag.value.upper():<6} by {h.by}: {h.reason}")

    out += ["", THIN, f"Risk indicators ({len(report.indicators)})", THIN]
    if not report.indicators:
        out.append("  none drawn from the disclosed records")
    for i in report.indicators:
        out.append(f"  ! {i.title}")
        out.append(f"      {i.detail}; {i.subject_id}; source {i.agency} record {i.record_id}"
                   + (f" ({i.occurred_on})" if i.occurred_on else ""))

    out += ["", THIN, "Agencies", THIN]
    for section in report.agencies:
        out += _agency_lines(section)
    if report.earlier and include_earlier:
        out += ["", f"Earlier answers, newest first ({len(report.earlier)})"]
        for section in report.earlier:
            out += _agency_lines(section)
    elif report.earlier:
        out.append(f"  ({len(report.earlier)} earlier answer(s) superseded by these: "
                   f"mash summary show {r.referral_id} --earlier)")

    out += ["", THIN, f"Chronology, newest first ({len(report.chronology)} events)", THIN]
    for e in report.chronology:
        flag = "!" if e.indicator_codes else " "
        out.append(f" {flag}{e.date_text:<11} {e.agency:<22} {e.subject_id:<16} "
                   f"{e.summary}  [{e.record_id}]")

    out += ["", THIN, "Decision", THIN]
    d = r.decision
    if d is None:
        out.append("  not yet decided")
    else:
        out += [f"  Level of need  {d.level_of_need.value.replace('_', ' ')}",
                f"  Outcome        {d.outcome.value.replace('_', ' ')}",
                f"  Rationale      {d.rationale}",
                f"  Decided by     {d.by} at {when(d.at)}"]
    if report.deletions:
        out += ["", "Deleted under retention"]
        for x in report.deletions:
            out.append(f"  {x.agency} part of lookup {x.lookup_id}: deleted {when(x.deleted_at)} "
                       f"(agreement {x.agreement_id})")
    out.append(RULE)
    return "\n".join(clean(line) for line in out) + "\n"


def _agency_lines(section: AgencySection) -> list[str]:
    status = STATUS_WORDS.get(section.status, section.status)
    lines = [f"  {section.agency:<22} {status:<18} lookup {section.lookup_id} "
             f"({section.lookup_rag})"]
    attempt = section.latest_attempt
    if attempt is not None:
        lines.append(f"      later lookup {attempt.lookup_id}: "
                     f"{STATUS_WORDS.get(attempt.status, attempt.status)}"
                     + "".join(f"; reason {c}" + (f": {t}" if t else "")
                               for c, t in attempt.reasons))
    for m in section.matches:
        hint = f"; to confirm: {m.confirm_hint}" if m.confirm_hint else ""
        lines.append(f"      match {m.subject_id}: {m.match_band} ({m.match_score:.2f}){hint}")
        if m.invalid_identifiers:
            lines.append(f"      invalid identifiers: {', '.join(m.invalid_identifiers)}")
        if m.withheld_categories:
            lines.append(f"      withheld categories: {', '.join(m.withheld_categories)}")
    for code, text in section.reasons:
        lines.append(f"      reason {code}" + (f": {text}" if text else ""))
    for category, facts in section.facts_by_category:
        lines.append(f"      {category.replace('_', ' ')}")
        for f in facts:
            attrs = ", ".join(f"{k}={v}" for k, v in f.attributes.items())
            lines.append(f"        {f.occurred_on or 'undated':<11} {f.summary} "
                         f"[{f.record_id}, {f.subject_id}]" + (f" ({attrs})" if attrs else ""))
    if section.signer_key_id or section.agreement_id:
        lines.append(f"      signed by {section.signer_key_id or '-'}; agreement "
                     f"{section.agreement_id or '-'} version {section.agreement_version or '-'}")
    return lines
