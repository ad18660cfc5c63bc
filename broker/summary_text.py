"""The referral summary as plain text for a terminal (the demo and `mash lookup`)."""

from __future__ import annotations

from datetime import date, datetime

from broker.indicators import CSC_RECENT_CLOSURE_DAYS, disclosed_facts, known_to_csc
from mash.clock import london_today
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency

_STATUS_WORDS = {
    "disclosed": "DISCLOSED",
    "not_known": "not known",
    "possible_match": "POSSIBLE MATCH (no content shared)",
    "withheld": "WITHHELD",
    "pending_review": "PENDING REVIEW",
    "pending_research": "PENDING RESEARCH (a researcher is searching by hand)",
    "timed_out": "TIMED OUT",
    "unavailable": "UNAVAILABLE",
    "rejected": "REJECTED (failed verification)",
    "policy_mismatch": "POLICY MISMATCH",
}


def csc_banner(summary: pb.ReferralSummary, as_of: date | None = None,
               window_days: int = CSC_RECENT_CLOSURE_DAYS) -> str | None:
    """The known-to-CSC line, when the CSC part shows an open or recently closed case.

    Judged as of `as_of` (default: the day the summary was generated). Only the
    allocated team is named, never the case content.
    """
    facts = [f for f in disclosed_facts([summary]) if f.agency == Agency.CHILDRENS_SOCIAL_CARE]
    if not facts:
        return None
    known = known_to_csc(facts, as_of or _generated_on(summary), window_days)
    if not known:
        return None
    teams = ", ".join(dict.fromkeys(k.team for k in known))
    return f"KNOWN TO CHILDREN'S SOCIAL CARE - route to allocated worker: {teams}"


def _generated_on(summary: pb.ReferralSummary) -> date:
    try:
        return datetime.fromisoformat(summary.generated_at).date()
    except ValueError:
        return london_today()  # a summary without a time: judge it today


def format_summary(summary: pb.ReferralSummary, as_of: date | None = None) -> str:
    """A readable, deterministic rendering of one lookup's summary (known-to-CSC first)."""
    banner = csc_banner(summary, as_of)
    out = [banner, ""] if banner else []
    out += [
        f"Referral {summary.referral_id}  RAG {summary.rag.upper()}  purpose {summary.purpose} "
        f"({summary.statutory_gateway})",
        f"lookup {summary.lookup_id}  generated {summary.generated_at}"
        + (f"  due {summary.due_at}" if summary.due_at else ""),
    ]
    for a in summary.agencies:
        out.append("")
        head = f"== {a.agency.upper()}: {_STATUS_WORDS.get(a.status, a.status)}"
        if a.latency_ms:
            head += f"  [{a.latency_ms:.1f} ms]"
        out.append(head)
        if a.data_as_of:
            out.append(f"   data as of {a.data_as_of}")
        if a.agreement_id:
            out.append(f"   agreement {a.agreement_id} v{a.agreement_version[:12]}"
                       + (f"  signed by key {a.signer_key_id}" if a.signer_key_id else ""))
        for r in a.reasons:
            out.append(f"   reason: {r.code} - {r.text}")
        for s in a.subjects:
            line = f"   {s.subject_id}: match {s.match_band}"
            if s.match_score:
                line += f" ({s.match_score:.2f})"
            if s.confirm_hint:
                line += f"; {s.confirm_hint}"
            if s.invalid_identifiers:
                line += f"; invalid identifiers: {', '.join(s.invalid_identifiers)}"
            out.append(line)
            for f in sorted(s.facts, key=lambda f: f.occurred_on, reverse=True):
                out.append(f"     {f.occurred_on}  {f.category:<28} {f.summary}  [{f.record_id}]")
    return "\n".join(out)


def format_status_table(summary: pb.ReferralSummary) -> str:
    """One line per agency: status, how sure the match, what was shared, who signed, how fast."""
    lines = [f"   {'agency':<22} {'status':<16} {'matches':<28} {'facts':>5}  {'signed by':<17} ms"]
    for a in summary.agencies:
        matches = ",".join(f"{s.subject_id}:{s.match_band}" for s in a.subjects) or "-"
        facts = sum(len(s.facts) for s in a.subjects)
        lines.append(f"   {a.agency:<22} {a.status:<16} {matches[:28]:<28} {facts:>5}  "
                     f"{a.signer_key_id or '-':<17} {a.latency_ms:.0f}")
    return "\n".join(lines)
