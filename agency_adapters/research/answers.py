"""From what a researcher found to the disclosure the adapter signs.

The researcher records, per subject, the facts that may be disclosed, each in one data
category -- or that nobody was found ("not known"). Only the categories the adapter's own
policy permitted for that subject of that query (when it was queued, and still now) are
accepted; anything else is refused whole, naming the subject and category, so nothing is
half-sent. Facts are minimised like any other: one line each, bounded sizes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, datetime

import grpc

from agency_adapters.research.queue import ResearchError, ResearchItem
from mash.v1 import mash_pb2 as pb
from mash.v1 import research_pb2 as rpb
from mash.vocab import AGENCY_CATEGORIES, Agency, AgencyStatus, Decision, MatchBand

#: The bands a researcher may give: they identified the person by hand.
RESEARCHER_BANDS = (MatchBand.CERTAIN, MatchBand.HIGH)
MAX_SUMMARY_CHARS = 300
MAX_FACTS = 50
MAX_ATTRIBUTES = 10
_ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,63}$")
RESEARCHED_REASON = pb.Reason(code="researched_by_hand",
                              text="searched by hand by the agency's MASH researcher")


class AnswerRefused(ResearchError):
    """The answer cannot be accepted as given (the message says what to change)."""

    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    code = "research_answer_invalid"


class CategoryNotPermitted(AnswerRefused):
    """A fact is in a category the adapter's policy does not permit for that subject."""

    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    code = "research_category_not_permitted"


@dataclass(frozen=True)
class BuiltAnswer:
    """The unsigned disclosure and what it says, for the audit log."""

    disclosure: pb.Disclosure
    outcome: str
    categories: tuple[str, ...]


def build_answer(item: ResearchItem, request: rpb.AnswerResearchRequest, *, agency: Agency,
                 adapter_id: str, now: datetime,
                 permitted_now: Mapping[str, Set[str]]) -> BuiltAnswer:
    """The disclosure answering `item` as the researcher recorded it; `AnswerRefused` if not.

    `permitted_now`: the categories the adapter's policy permits for each subject at the
    time of answering (an agreement that has since narrowed narrows the answer).
    """
    query = pb.Query.FromString(item.query)
    subject_ids = [s.subject_id for s in query.subjects]
    findings = _findings(request, subject_ids)
    permitted = {sid: set(item.permitted.get(sid, ())) & set(permitted_now.get(sid, set()))
                 for sid in subject_ids}
    asked = [c for c in query.categories if c in {str(x) for x in AGENCY_CATEGORIES[agency]}]
    d = pb.Disclosure(
        disclosure_id=secrets.token_hex(16), query_id=item.query_id,
        query_sha256=item.query_sha256, agency=str(agency), adapter_id=adapter_id,
        broker_id=item.broker_id, issued_at=now.isoformat(), decision=Decision.PERMIT,
        agreement_id=item.agreement_id, agreement_version=item.agreement_version)
    categories: set[str] = set()
    for sid in subject_ids:
        result = d.subjects.add(subject_id=sid, match_band=MatchBand.NONE)
        result.permitted_categories.extend(c for c in asked if c in permitted[sid])
        result.withheld_categories.extend(c for c in asked if c not in permitted[sid])
        finding = findings.get(sid)
        if finding is None:
            continue
        result.match_band = finding.match_band or MatchBand.HIGH
        for n, fact in enumerate(finding.facts, start=1):
            _check_fact(fact, sid, permitted[sid], now.date())
            result.facts.append(pb.Fact(
                record_id=fact.record_id or f"{item.item_id}-{sid}-{n}",
                category=fact.category, occurred_on=fact.occurred_on,
                summary=fact.summary.strip(), attributes=dict(fact.attributes)))
            categories.add(fact.category)
    d.status = AgencyStatus.DISCLOSED if findings else AgencyStatus.NOT_KNOWN
    d.reasons.append(RESEARCHED_REASON)
    return BuiltAnswer(d, str(d.status), tuple(sorted(categories)))


def _findings(request: rpb.AnswerResearchRequest,
              subject_ids: list[str]) -> dict[str, rpb.ResearchFinding]:
    if request.not_known and request.findings:
        raise AnswerRefused("give either not_known or findings, not both")
    if not request.not_known and not request.findings:
        raise AnswerRefused("give findings (facts by subject and category) or not_known")
    out: dict[str, rpb.ResearchFinding] = {}
    total = 0
    for finding in request.findings:
        sid = finding.subject_id
        if sid not in subject_ids:
            raise AnswerRefused(f"subject {sid[:40]!r} is not a subject of this query "
                                f"(subjects: {', '.join(subject_ids)})")
        if sid in out:
            raise AnswerRefused(f"subject {sid}: give its facts in one finding")
        if finding.match_band and finding.match_band not in RESEARCHER_BANDS:
            raise AnswerRefused(f"subject {sid}: match band must be one of "
                                f"{', '.join(RESEARCHER_BANDS)}")
        if not finding.facts:
            raise AnswerRefused(f"subject {sid}: a finding needs at least one fact "
                                "(leave the subject out if nothing was found)")
        total += len(finding.facts)
        out[sid] = finding
    if total > MAX_FACTS:
        raise AnswerRefused(f"at most {MAX_FACTS} facts in one answer")
    return out


def _check_fact(fact: pb.Fact, sid: str, permitted: Set[str], today: date) -> None:
    if fact.category not in permitted:
        allowed = ", ".join(sorted(permitted)) or "none"
        raise CategoryNotPermitted(
            f"subject {sid}: category {fact.category[:60]!r} is not permitted by the "
            f"agreement for this query (permitted: {allowed})")
    try:
        when = date.fromisoformat(fact.occurred_on)
    except ValueError:
        raise AnswerRefused(f"subject {sid}: occurred_on must be a date (YYYY-MM-DD), "
                            f"got {fact.occurred_on[:20]!r}") from None
    if when > today:
        raise AnswerRefused(f"subject {sid}: occurred_on {fact.occurred_on} is in the future")
    summary = fact.summary.strip()
    if not summary or "\n" in summary or "\r" in summary or len(summary) > MAX_SUMMARY_CHARS:
        raise AnswerRefused(f"subject {sid}: a fact's summary is one line of 1 to "
                            f"{MAX_SUMMARY_CHARS} characters")
    if fact.record_id and not _RECORD_ID.fullmatch(fact.record_id):
        raise AnswerRefused(f"subject {sid}: record_id must be 1-64 of A-Z a-z 0-9 / _ . -")
    if len(fact.attributes) > MAX_ATTRIBUTES or any(
            not _ATTRIBUTE_KEY.fullmatch(k) or len(v) > 200 for k, v in fact.attributes.items()):
        raise AnswerRefused(f"subject {sid}: at most {MAX_ATTRIBUTES} attributes, named "
                            "a-z 0-9 _, values up to 200 characters")
