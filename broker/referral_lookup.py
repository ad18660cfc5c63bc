"""From a stored referral to a broker lookup, and from its summary back to the referral.

The broker API takes a `LookupRequest`; the referral already holds the
subjects and the current rating, so staff never retype them. The summary that
comes back is filed with the referral under the agreements' retention.
"""

from __future__ import annotations

from collections.abc import Iterable

from broker.referral_record import InvalidReferral, Referral, StoredSummary
from broker.referrals import HasRetention, ReferralStore, RetentionByAgreement
from mash.v1 import mash_pb2
from mash.vocab import (
    GATEWAY_FOR_PURPOSE,
    Agency,
    ConsentState,
    Purpose,
    ReasonCode,
    ReferralStatus,
    StatutoryGateway,
    parse,
)


def lookup_request(referral: Referral, *, purpose: Purpose | str,
                   consent_state: ConsentState | str,
                   consent_reason: ReasonCode | str | None = None,
                   statutory_gateway: StatutoryGateway | str | None = None,
                   agencies: Iterable[Agency | str] = (),
                   consent_note: str = "") -> mash_pb2.LookupRequest:
    """The lookup for `referral` at its current rating, with all its subjects.

    The gateway defaults to the one the purpose is exercised under. A closed
    referral is refused: nothing more is asked about it.
    """
    if referral.status == ReferralStatus.CLOSED:
        raise InvalidReferral(f"referral {referral.referral_id} is closed")
    purpose = parse(Purpose, purpose)
    gateway = (GATEWAY_FOR_PURPOSE[purpose] if statutory_gateway is None
               else parse(StatutoryGateway, statutory_gateway))
    reason = "" if consent_reason in (None, "") else parse(ReasonCode, consent_reason).value
    return mash_pb2.LookupRequest(
        referral_id=referral.referral_id, rag=referral.rag.value, purpose=purpose.value,
        statutory_gateway=gateway.value,
        consent=mash_pb2.Consent(state=parse(ConsentState, consent_state).value, reason=reason,
                                 note=consent_note),
        subjects=[s.to_proto() for s in referral.subjects],
        agencies=[parse(Agency, a).value for a in agencies],
    )


def file_summary(store: ReferralStore, summary: mash_pb2.ReferralSummary,
                 agreements: Iterable[HasRetention], by: str) -> StoredSummary:
    """Keep `summary` with its referral under the agreements' retention.

    A referral still in `screening` moves to `researching`: agencies have been asked.
    """
    stored = store.save_summary(summary, RetentionByAgreement.from_agreements(agreements))
    if store.get(summary.referral_id).status == ReferralStatus.SCREENING:
        store.set_status(summary.referral_id, ReferralStatus.RESEARCHING, by,
                         f"lookup {summary.lookup_id}")
    return stored
