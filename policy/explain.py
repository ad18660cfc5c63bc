"""Plain-English explanation of one decision, for `mash policy explain --format text`."""

from __future__ import annotations

from policy.agreement import Agreement
from policy.decision import PolicyDecision
from policy.request import PolicyRequest


def explain_text(request: PolicyRequest, decision: PolicyDecision,
                 agreement: Agreement | None) -> str:
    """The decision as a short report an IG lead can read."""
    consent = str(request.consent_state)
    if request.consent_reason is not None:
        consent += f" (reason: {request.consent_reason})"
    lines = [
        f"Decision: {decision.decision}",
        "",
        f"Request:   {request.agency} records about a {request.subject_role}, for "
        f"{request.purpose} under {request.statutory_gateway}",
        f"           RAG {request.rag}, consent {consent}",
        f"           asked by {request.requester_id} ({request.requester_role}) for "
        f"{request.mash_id} at {request.at.isoformat()}",
    ]
    if request.break_glass is not None:
        lines.append(f"           break-glass requested: {request.break_glass.reason}")
    if agreement is not None and decision.agreement_id == agreement.id:
        lines += [f"Agreement: {agreement.id} - {agreement.title}",
                  f"           version {agreement.version_label}, sha256 {agreement.sha256}"]
    elif decision.agreement_id:
        lines.append(f"Agreement: {decision.agreement_id}, sha256 {decision.agreement_version}")
    else:
        lines.append("Agreement: none applies")
    lines += ["", "Categories:"]
    if not decision.categories:
        lines.append("  (none)")
    width = max((len(str(c)) for c in decision.categories), default=0)
    for category, verdict in decision.categories.items():
        lines.append(f"  {str(category).ljust(width)}  {verdict}")
    lines += ["", "Why:"]
    lines += [f"  - {r.text} [{r.code}]" for r in decision.reasons]
    if decision.break_glass_used and decision.break_glass_until is not None:
        until = decision.break_glass_until.isoformat()
        lines += ["", f"Break-glass used: permitted until {until}; "
                  f"raises {', '.join(decision.events)}."]
    return "\n".join(lines)
