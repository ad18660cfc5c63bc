"""A referral's lookups through the running broker: ask, file, re-rate, re-ask.

`mash referral lookup` builds the request from the stored referral, asks the
broker and files the summary; `mash referral rerate` re-evaluates policy when
the rating is raised and asks only for the categories that became permitted.
The broker is reached through any `Asker` (the gRPC `BrokerClient`, or a fake
in unit tests); policy is the shipped engine, passed in.

What the referral store does not hold -- the consent state and reason a lookup
was made under -- is remembered here, per lookup, in a small table beside the
referrals (`lookup_context`), so a re-rating re-asks under the same terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from broker.planning import Requester, plan_agency
from broker.referral_lookup import file_summary, lookup_request
from broker.referral_record import Referral, StoredSummary
from broker.referrals import HasRetention, RetentionByAgreement, SqliteReferralStore
from broker.requests import LookupInput
from broker.rerating import Permitted, Refetch, already_permitted, plan_refetch
from mash.v1 import mash_pb2
from mash.vocab import (
    GATEWAY_FOR_PURPOSE,
    Agency,
    Category,
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    StatutoryGateway,
    SubjectRole,
    parse,
)
from policy import PolicyEngine


class Asker(Protocol):
    """What the workflow needs of the broker: one lookup."""

    def lookup(self, request: mash_pb2.LookupRequest) -> mash_pb2.ReferralSummary:
        """Run one lookup."""
        ...


@dataclass(frozen=True)
class LookupTerms:
    """The terms a lookup was asked under (purpose, gateway, consent)."""

    purpose: Purpose
    gateway: StatutoryGateway
    consent_state: ConsentState
    consent_reason: ReasonCode | None = None

    @classmethod
    def of(cls, purpose: Purpose | str, consent_state: ConsentState | str,
           consent_reason: ReasonCode | str | None = None,
           gateway: StatutoryGateway | str | None = None) -> LookupTerms:
        """Parse the terms; the gateway defaults to the one the purpose is exercised under."""
        p = parse(Purpose, purpose)
        return cls(p, GATEWAY_FOR_PURPOSE[p] if not gateway else parse(StatutoryGateway, gateway),
                   parse(ConsentState, consent_state),
                   parse(ReasonCode, consent_reason) if consent_reason else None)


# ---------------------------------------------------------------- terms remembered per lookup

def remember_terms(store: SqliteReferralStore, referral_id: str, lookup_id: str,
                   terms: LookupTerms, at: datetime) -> None:
    """Keep the terms `lookup_id` was asked under, for a later re-rating."""
    store.save_lookup_terms(lookup_id, referral_id, at, {
        "purpose": terms.purpose.value, "gateway": terms.gateway.value,
        "consent_state": terms.consent_state.value,
        "consent_reason": terms.consent_reason.value if terms.consent_reason else ""})


def latest_terms(store: SqliteReferralStore, referral_id: str) -> LookupTerms | None:
    """The terms of the referral's latest remembered lookup, if any."""
    row = store.latest_lookup_terms(referral_id)
    if row is None:
        return None
    return LookupTerms.of(row["purpose"], row["consent_state"], row["consent_reason"] or None,
                          row["gateway"])


def latest_purpose(summaries: Sequence[StoredSummary]) -> Purpose | None:
    """The purpose of the referral's latest filed lookup, if any."""
    for stored in reversed(summaries):
        if stored.summary.purpose:
            return parse(Purpose, stored.summary.purpose)
    return None


# ---------------------------------------------------------------- lookups

def ask_and_file(asker: Asker, store: SqliteReferralStore, request: mash_pb2.LookupRequest,
                 terms: LookupTerms, agreements: Iterable[HasRetention], by: str,
                 at: datetime) -> StoredSummary:
    """Ask the broker, file the summary under the agreements' retention, remember the terms."""
    summary = asker.lookup(request)
    stored = file_summary(store, summary, agreements, by)
    remember_terms(store, summary.referral_id, summary.lookup_id, terms, at)
    return stored


def referral_lookup(asker: Asker, store: SqliteReferralStore, referral: Referral,
                    terms: LookupTerms, agreements: Iterable[HasRetention], by: str,
                    at: datetime, agencies: Iterable[Agency | str] = ()) -> StoredSummary:
    """The referral's lookup at its current rating, filed with it."""
    request = lookup_request(referral, purpose=terms.purpose, consent_state=terms.consent_state,
                             consent_reason=terms.consent_reason,
                             statutory_gateway=terms.gateway, agencies=agencies)
    return ask_and_file(asker, store, request, terms, agreements, by, at)


# ---------------------------------------------------------------- re-rating

def policy_permitted(engine: PolicyEngine, mash_id: str, requester: Requester,
                     terms: LookupTerms, subject_roles: Sequence[SubjectRole],
                     at: datetime) -> Permitted:
    """Policy as the re-rating planner sees it: what the broker would ask `agency` for at `rag`.

    The same planning the broker does for a lookup (union over the subjects'
    roles), so the planner never expects more than the broker will send.
    """
    def permitted(rag: Rag, agency: Agency) -> tuple[Category, ...]:
        lookup = LookupInput(mash_pb2.LookupRequest(), rag, terms.purpose, terms.gateway,
                             terms.consent_state, terms.consent_reason, tuple(subject_roles),
                             (), frozenset())
        return plan_agency(engine, mash_id, agency, lookup, requester, at).categories
    return permitted


def refetch_request(referral: Referral, plan: Sequence[Refetch],
                    terms: LookupTerms) -> mash_pb2.LookupRequest | None:
    """One lookup asking each planned agency for its newly permitted categories only.

    Categories belong to one agency each, so the union narrows every agency
    exactly to its own new categories.
    """
    if not plan:
        return None
    request = lookup_request(referral, purpose=terms.purpose, consent_state=terms.consent_state,
                             consent_reason=terms.consent_reason,
                             statutory_gateway=terms.gateway,
                             agencies=[r.agency for r in plan])
    request.categories.extend(c.value for r in plan for c in r.categories)
    return request


def plan_after_rerate(store: SqliteReferralStore, before: Referral, after: Referral,
                      permitted: Permitted, agencies: Iterable[Agency]) -> tuple[Refetch, ...]:
    """What to ask again after `before` was re-rated to `after` (empty unless raised)."""
    summaries = [s.summary for s in store.summaries(after.referral_id)]
    return plan_refetch(before.rag, after.rag, agencies, permitted, already_permitted(summaries))


def refetch(asker: Asker, store: SqliteReferralStore, referral: Referral,
            plan: Sequence[Refetch], terms: LookupTerms, agreements: Iterable[HasRetention],
            by: str, at: datetime) -> tuple[mash_pb2.LookupRequest | None, StoredSummary | None]:
    """Ask for the planned categories and file the summary (nothing when the plan is empty)."""
    request = refetch_request(referral, plan, terms)
    if request is None:
        return None, None
    return request, ask_and_file(asker, store, request, terms, agreements, by, at)


def review_release_summary(review: mash_pb2.Review, result: mash_pb2.AgencyResult,
                           broker_id: str) -> mash_pb2.ReferralSummary:
    """The part a team manager's approval released, as a one-agency summary for the referral.

    Filed under its own lookup id (`<lookup>-review-<review>`) so the original
    lookup's summary is kept as it was answered.
    """
    return mash_pb2.ReferralSummary(
        referral_id=review.referral_id, lookup_id=f"{review.lookup_id}-review-{review.review_id}",
        rag=review.rag, purpose=review.purpose, statutory_gateway=review.statutory_gateway,
        generated_at=review.decided_at, agencies=[result], broker_id=broker_id)


def file_release(store: SqliteReferralStore, review: mash_pb2.Review,
                 result: mash_pb2.AgencyResult, broker_id: str,
                 agreements: Iterable[HasRetention], at: datetime) -> str:
    """File what an approval released with the review's referral; "" if none is recorded.

    The terms it was asked under are remembered, so a later re-rating re-asks under them.
    """
    if not store.exists(review.referral_id):
        return ""
    summary = review_release_summary(review, result, broker_id)
    stored = store.save_summary(summary, RetentionByAgreement.from_agreements(agreements))
    remember_terms(store, review.referral_id, stored.lookup_id,
                   LookupTerms.of(review.purpose, review.consent_state,
                                  review.consent_reason or None, review.statutory_gateway), at)
    return stored.lookup_id


__all__ = ["Asker", "file_release", "LookupTerms", "ask_and_file", "latest_purpose",
           "latest_terms", "plan_after_rerate", "policy_permitted", "referral_lookup",
           "refetch", "refetch_request", "remember_terms", "review_release_summary"]
