"""Synthetic referrals and summaries for the referral workflow tests (no real people)."""

from __future__ import annotations

from datetime import UTC, datetime

from broker.referral_record import ReferralSubject
from broker.referrals import NewReferral
from mash.v1 import mash_pb2
from mash.vocab import Rag, ReferralSource, SubjectRole

RECEIVED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def new_referral(referral_id: str = "REF-0001", rag: Rag = Rag.AMBER) -> NewReferral:
    """A referral about a toddler and her mother (synthetic)."""
    return NewReferral(
        referral_id=referral_id, received_at=RECEIVED, source=ReferralSource.POLICE,
        reason="Police attended a domestic incident; child present.",
        subjects=(
            ReferralSubject("child-1", SubjectRole.CHILD,
                            {"given_name": "Poppy", "family_name": "Testerby",
                             "date_of_birth": "2025-06-01", "postcode": "ZZ99 1AA"}),
            ReferralSubject("parent_carer-1", SubjectRole.PARENT_CARER,
                            {"given_name": "Jade", "family_name": "Testerby",
                             "date_of_birth": "1998-02-14", "other_names": "Jade Smyth"}),
        ),
        rag=rag, by="sw-001")


def fact(record_id: str, category: str, occurred_on: str, summary: str,
         **attributes: str) -> mash_pb2.Fact:
    """One minimised fact."""
    return mash_pb2.Fact(record_id=record_id, category=category, occurred_on=occurred_on,
                         summary=summary, attributes=attributes)


def agency(name: str, status: str = "disclosed", *subjects: mash_pb2.SubjectResult,
           agreement: str | None = None) -> mash_pb2.AgencyResult:
    """One agency's part of a summary."""
    return mash_pb2.AgencyResult(
        agency=name, status=status, subjects=list(subjects),
        signer_key_id=f"{name}-sign-1", agreement_id=agreement or f"{name}-mash-dsa",
        agreement_version="sha256:" + "ab" * 8, latency_ms=12.5, decision="PERMIT")


def subject(subject_id: str, *facts: mash_pb2.Fact,
            band: str = "certain") -> mash_pb2.SubjectResult:
    """One subject's result with its facts."""
    return mash_pb2.SubjectResult(subject_id=subject_id, match_band=band, match_score=0.97,
                                  facts=list(facts))


def full_summary(referral_id: str = "REF-0001", lookup_id: str = "LK-1",
                 rag: str = "amber") -> mash_pb2.ReferralSummary:
    """A summary with facts from every agency, several of which are risk indicators."""
    return mash_pb2.ReferralSummary(
        referral_id=referral_id, lookup_id=lookup_id, rag=rag,
        purpose="child_in_need_assessment", statutory_gateway="children_act_1989_s17",
        generated_at="2026-11-24T10:05:00+00:00", due_at="2026-11-25T10:00:00+00:00",
        broker_id="mash-testshire",
        agencies=[
            agency("childrens_social_care", "disclosed", subject(
                "child-1", fact("CSC-77", "csc_case_status", "2026-11-10", "Open case",
                                case_status="open", allocated_team="Assessment Team 2"))),
            agency("police", "disclosed",
                   subject("parent_carer-1",
                           fact("PN-1001", "domestic_abuse_incidents", "2026-09-12",
                                "Domestic incident at home address", dash_risk="high"),
                           fact("PN-0900", "domestic_abuse_incidents", "2024-03-02",
                                "Verbal argument reported", dash_risk="high"),
                           fact("PN-1002", "domestic_abuse_incidents", "2026-10-01",
                                "Neighbour reported shouting", dash_risk="standard")),
                   subject("child-1",
                           fact("PN-1010", "missing_episodes", "2026-08-03",
                                "Reported missing, found same day"))),
            agency("health", "disclosed", subject(
                "child-1", fact("ED-55", "emergency_attendances", "2026-10-20",
                                "ED attendance: head injury", age_months="16"),
                fact("GP-1", "gp_registration", "2025-06-20", "Registered with GP"))),
            agency("education", "disclosed", subject(
                "parent_carer-1", fact("ED-ATT-3", "attendance", "2026-07-20",
                                       "Attendance 2025/26", attendance_pct="84.5"))),
            agency("housing", "disclosed", subject(
                "parent_carer-1", fact("HS-9", "arrears_and_eviction", "2026-11-01",
                                       "Notice seeking possession served",
                                       stage="notice_seeking_possession"))),
        ],
    )


def sparse_summary(referral_id: str = "REF-0001", lookup_id: str = "LK-2",
                   rag: str = "red") -> mash_pb2.ReferralSummary:
    """A summary where agencies did not disclose: not known, withheld, timed out."""
    withheld = agency("health", "withheld")
    withheld.reasons.add(code="category_not_permitted", text="sexual_health needs consent")
    return mash_pb2.ReferralSummary(
        referral_id=referral_id, lookup_id=lookup_id, rag=rag,
        purpose="child_protection_enquiry", statutory_gateway="children_act_1989_s47",
        generated_at="2026-11-24T11:00:00+00:00", due_at="2026-11-24T15:00:00+00:00",
        broker_id="mash-testshire",
        agencies=[agency("education", "not_known"), withheld,
                  mash_pb2.AgencyResult(agency="housing", status="timed_out")],
    )
