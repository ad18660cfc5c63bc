"""The referral summary arranged for a page: agency blocks, indicators, chronology, words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.referrals_gateway import LookupRun

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
    "pending_research": ("Awaiting researcher", "blue", "The agency has no system a MASH can "
                         "query: its researcher is searching by hand; the answer appears here "
                         "when they have recorded it."),
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


def status_words(status: str) -> tuple[str, str, str]:
    """Tag text, colour and explanation of an agency's status."""
    return STATUS_WORDS.get(status, (words(status), "grey", ""))


def run_states(run: LookupRun) -> dict[str, tuple[str, str]]:
    """Each agency a lookup asked, with its state in words and its tag colour ("" for plain
    text): the agency's answer once the broker has replied; "No answer" for every agency when
    the lookup failed (the page says why), never "Not asked", which would be untrue of a lookup
    that failed after its queries were sent."""
    answers = {r.agency: r.status for r in run.summary.agencies} if run.summary else {}
    states: dict[str, tuple[str, str]] = {}
    for agency in run.agencies_asked:
        if agency in answers:
            text, colour, _ = status_words(answers[agency])
            states[agency] = (text, colour)
        elif run.error:
            states[agency] = ("No answer", "")
        elif run.done:
            states[agency] = ("Not asked", "")
        else:
            states[agency] = ("Waiting for an answer", "")
    return states


def csc_banner_text(document: Mapping[str, object]) -> str | None:
    """The known-to-CSC line of a summary document, naming only the allocated team(s)."""
    known = document.get("known_to_csc") or []
    if not isinstance(known, list) or not known:
        return None
    teams = ", ".join(dict.fromkeys(str(k.get("team", "")) for k in known
                                    if isinstance(k, Mapping) and k.get("team")))
    return f"KNOWN TO CHILDREN'S SOCIAL CARE - route to allocated worker: {teams or 'see record'}"


def subject_facts(agency: Mapping[str, object]) -> dict[str, list[dict[str, object]]]:
    """An agency block's facts by subject id, each with its category, newest first."""
    out: dict[str, list[dict[str, object]]] = {}
    by_category = agency.get("facts_by_category") or {}
    for category, facts in by_category.items() if isinstance(by_category, Mapping) else ():
        for fact in facts if isinstance(facts, list) else ():
            if isinstance(fact, Mapping):
                out.setdefault(str(fact.get("subject_id", "")), []).append(
                    {**fact, "category": category})
    for facts in out.values():
        facts.sort(key=lambda f: str(f.get("occurred_on") or ""), reverse=True)
    return out
