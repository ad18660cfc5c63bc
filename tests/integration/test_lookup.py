"""A full lookup through real processes: broker + four adapters over mTLS, real signatures."""

from __future__ import annotations

import grpc
import pytest

from broker.client import BrokerClient
from certs.signing import TrustStore
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import AgencyStatus, MatchBand
from tests.integration.helpers import (
    audit_rows,
    demo_subjects,
    green_request,
    red_request,
    statuses,
)

pytestmark = [pytest.mark.integration, pytest.mark.clock_sensitive]


def test_red_lookup_returns_verified_disclosures_from_all_four(
    home: Home, client: BrokerClient
) -> None:
    summary = client.lookup(red_request("REF-IT-0001", demo_subjects(home)))

    # the LA's own case system first, then the four partner agencies
    assert [a.agency for a in summary.agencies][0] == "childrens_social_care"
    assert statuses(summary) == {a: AgencyStatus.DISCLOSED
                                 for a in ("childrens_social_care", "police", "health",
                                           "education", "housing")}
    trust = TrustStore.load(home.trust_store)
    for result in summary.agencies:
        # signed by that agency's pinned key, and the hash of what was verified is recorded
        owners = {k.key_id for k in trust.keys_for(f"adapter-{result.agency}")}
        assert result.signer_key_id in owners
        assert len(result.disclosure_sha256) == 64
        child = next(s for s in result.subjects if s.subject_id == summary.agencies[0].subjects[0].subject_id)
        assert child.match_band in (MatchBand.CERTAIN, MatchBand.HIGH)
        assert child.facts, f"{result.agency} disclosed nothing for a child it knows"
        assert {f.category for f in child.facts} <= set(child.permitted_categories)
        assert result.agreement_version


def test_green_lookup_without_consent_is_denied_and_sends_no_query(
    home: Home, client: BrokerClient
) -> None:
    summary = client.lookup(green_request("REF-IT-0002", demo_subjects(home)))

    assert set(statuses(summary).values()) == {AgencyStatus.WITHHELD}
    assert all(not a.subjects for a in summary.agencies)
    assert all(a.reasons for a in summary.agencies), "a denial must say why"
    for agency in ("childrens_social_care", "police", "health", "education", "housing"):
        assert audit_rows(home.audit_log(f"adapter-{agency}"), "REF-IT-0002") == []
    assert audit_rows(home.audit_log("broker-mash-demo"), "REF-IT-0002"), "the denial is logged"


def test_malformed_request_is_a_clear_error(home: Home, client: BrokerClient) -> None:
    req = red_request("REF-IT-0003", demo_subjects(home))
    req.purpose = "curiosity"
    with pytest.raises(grpc.RpcError) as err:
        client.lookup(req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "curiosity" in (err.value.details() or "")


def test_each_adapter_logs_what_it_disclosed(home: Home, cluster: Cluster,
                                             client: BrokerClient) -> None:
    summary = client.lookup(red_request("REF-IT-0004", demo_subjects(home)))
    for result in summary.agencies:
        rows = audit_rows(home.audit_log(f"adapter-{result.agency}"), "REF-IT-0004")
        assert any(result.disclosure_sha256 in r for r in rows)
