"""The referral summary as plain text for a terminal (the demo and `mash lookup`)."""

from __future__ import annotations

from mash.v1 import mash_pb2 as pb

_STATUS_WORDS = {
    "disclosed": "DISCLOSED",
    "not_known": "not known",
    "possible_match": "POSSIBLE MATCH (no content shared)",
    "withheld": "WITHHELD",
    "pending_review": "PENDING REVIEW",
    "timed_out": "TIMED OUT",
    "unavailable": "UNAVAILABLE",
    "rejected": "REJECTED (failed verification)",
    "policy_mismatch": "POLICY MISMATCH",
}


def format_summary(summary: pb.ReferralSummary) -> str:
    """A readable, deterministic rendering of one lookup's summary."""
    out = [
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
