"""Matching through the real broker and adapters: a possible match discloses no content."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from broker.client import BrokerClient
from mash.demo_data import demo_referrals
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import AgencyStatus, MatchBand

pytestmark = pytest.mark.integration


def _request(referral: dict[str, Any], referral_id: str) -> pb.LookupRequest:
    req = pb.LookupRequest(
        referral_id=referral_id, rag=referral["rag"], purpose=referral["purpose"],
        statutory_gateway=referral["statutory_gateway"],
        consent=pb.Consent(**referral["consent"]))
    for s in referral["subjects"]:
        json_format.ParseDict(s, req.subjects.add(), ignore_unknown_fields=True)
    return req


def _referral_where(home: Home, predicate: Any) -> dict[str, Any]:
    found = [r for r in demo_referrals(home) if predicate(r)]
    assert found, "the seeded demo data has no such referral"
    return found[0]


def test_possible_match_discloses_no_record_content(home: Home, client: BrokerClient) -> None:
    referral = _referral_where(home, lambda r: any(
        "possible" in s["match_at_seed"].values() for s in r["subjects"]))
    summary = client.lookup(_request(referral, "REF-IT-POSSIBLE"))

    possible = [a for a in summary.agencies if a.status == AgencyStatus.POSSIBLE_MATCH]
    assert possible, "the seed says some agency holds only a possible match"
    for agency in possible:
        for s in agency.subjects:
            assert not s.facts, f"{agency.agency} disclosed content for a possible match"
            if s.match_band == MatchBand.POSSIBLE:
                assert s.confirm_hint, "a possible match says what would confirm it"


def test_child_known_to_nobody_is_not_known_everywhere(home: Home, client: BrokerClient) -> None:
    referral = _referral_where(home, lambda r: all(
        set(s["match_at_seed"].values()) == {"none"} for s in r["subjects"]))
    summary = client.lookup(_request(referral, "REF-IT-UNKNOWN"))

    assert {a.status for a in summary.agencies} == {AgencyStatus.NOT_KNOWN}
    assert all(not s.facts for a in summary.agencies for s in a.subjects)


def test_live_matching_agrees_with_the_seed(home: Home, client: BrokerClient) -> None:
    """Every demo subject gets, through the real services, the band the seed's matcher gave."""
    for n, referral in enumerate(demo_referrals(home)):
        req = _request(referral, f"REF-IT-SEED-{n}")
        req.rag, req.purpose = "red", "child_protection_enquiry"
        req.statutory_gateway = "children_act_1989_s47"
        req.consent.state, req.consent.reason = "not_sought", "risk_of_significant_harm"
        summary = client.lookup(req)
        for result in summary.agencies:
            for s in result.subjects:
                if not s.permitted_categories:
                    continue  # not looked up at all for this subject role
                expected = next(x for x in referral["subjects"]
                                if x["subject_id"] == s.subject_id)["match_at_seed"][result.agency]
                assert s.match_band == expected, (n, result.agency, s.subject_id)
