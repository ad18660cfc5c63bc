"""The referral summary arranged for a page: agency blocks, indicators, chronology, words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from broker.indicators import IndicatorContext, disclosed_facts, find_indicators
from broker.summary_text import csc_banner
from mash.v1 import mash_pb2 as pb

#: What each agency status means, in words a social worker would use.
STATUS_WORDS: dict[str, tuple[str, str, str]] = {
    # status: (tag text, tag colour, explanation)
    "disclosed": ("Information shared", "green", "The agency found the person and shared what the "
                  "agreement allows."),
    "not_known": ("Not known", "grey", "The agency searched and holds nothing on this person."),
    "possible_match": ("Possible match", "yellow", "The agency may know this person but is not sure "
                       "enough to share; give another identifier to confirm."),
    "withheld": ("Withheld", "orange", "The agency's agreement does not allow sharing for this "
                 "request; the reasons say why."),
    "pending_review": ("Awaiting manager", "blue", "Policy needs a team manager to approve this "
                       "request before it is sent."),
    "timed_out": ("No answer in time", "red", "The agency did not answer within the RAG deadline."),
    "unavailable": ("Unavailable", "red", "The agency's system could not be reached."),
    "rejected": ("Rejected", "red", "The answer failed its signature checks and was discarded."),
    "policy_mismatch": ("Policy mismatch", "red", "The agency applies a different version of the "
                        "agreement; nothing was shared."),
    "not_asked": ("Not asked", "grey", "This agency was not asked."),
}

#: Match bands explained in words.
BAND_WORDS: dict[str, str] = {
    "certain": "Certain match: a unique identifier (NHS number or UPN) matched.",
    "high": "High confidence: name, date of birth and address agree.",
    "possible": "Possible match: some details agree; confirm before relying on it.",
    "none": "No match.",
}

AGENCY_NAMES: dict[str, str] = {
    "childrens_social_care": "Children's social care", "police": "Police", "health": "Health",
    "education": "Education", "housing": "Housing",
}


def words(value: str) -> str:
    """A vocabulary value as words (`child_protection_enquiry` -> `Child protection enquiry`)."""
    text = value.replace("_", " ").strip()
    text = text[:1].upper() + text[1:]
    for plain, proper in _PROPER.items():
        text = text.replace(plain, proper)
    return text


#: Names that keep their capitals when a vocabulary value is shown as words.
_PROPER = {"Mash ": "MASH ", " act ": " Act ", "Children act": "Children Act", "Care act": "Care Act",
           "Crime and disorder act": "Crime and Disorder Act", "Uk gdpr": "UK GDPR", "Ig lead": "IG lead"}


@dataclass(frozen=True)
class ChronologyEntry:
    """One dated event for the timeline."""

    occurred_on: str
    agency: str
    subject_id: str
    category: str
    summary: str


def agency_status(result: pb.AgencyResult) -> tuple[str, str, str]:
    """Tag text, colour and explanation of an agency's status."""
    return STATUS_WORDS.get(result.status, (words(result.status), "grey", ""))


def build(summary: pb.ReferralSummary, dates_of_birth: dict[str, date]) -> dict[str, Any]:
    """Everything the summary page shows."""
    generated = date.fromisoformat(summary.generated_at[:10]) if summary.generated_at else date.today()
    facts = disclosed_facts([summary])
    indicators = find_indicators(facts, IndicatorContext(generated, dates_of_birth))
    chronology = sorted(
        (ChronologyEntry(f.occurred_on.isoformat() if f.occurred_on else "", f.agency,
                         f.subject_id, f.category, f.summary) for f in facts),
        key=lambda e: e.occurred_on, reverse=True)
    return {"summary": summary, "banner": csc_banner(summary), "indicators": indicators,
            "chronology": chronology}
