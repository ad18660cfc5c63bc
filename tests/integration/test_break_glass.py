"""Break-glass at Red turns REVIEW into PERMIT -- at the broker and at each adapter -- and every
use raises an alert and lands in the retrospective review queue. It never overrides a DENY."""

from __future__ import annotations

import time

import pytest

from broker.client import BrokerClient
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import AgencyStatus
from tests.integration.helpers import audit_rows, demo_subjects, red_request, statuses

pytestmark = pytest.mark.integration

JUSTIFICATION = "Child seen with injuries tonight; manager unreachable; strategy meeting at 9am"


def _cin_refused(referral: str, home: Home) -> pb.LookupRequest:
    req = red_request(referral, demo_subjects(home)[:1])
    req.purpose, req.statutory_gateway = "child_in_need_assessment", "children_act_1989_s17"
    req.consent.state, req.consent.reason = "refused", "risk_of_significant_harm"
    return req


def test_break_glass_at_red_releases_and_alerts(home: Home, client: BrokerClient) -> None:
    req = _cin_refused("REF-IT-GLASS", home)
    req.break_glass.reason = "risk_of_significant_harm"
    req.break_glass.justification = JUSTIFICATION
    summary = client.lookup(req)

    police = next(a for a in summary.agencies if a.agency == "police")
    assert police.status == AgencyStatus.DISCLOSED
    assert "break_glass_applied" in [r.code for r in police.reasons]
    rows = audit_rows(home.audit_log("broker-mash-demo"), "REF-IT-GLASS")
    for kind in ("break_glass", "retrospective_review"):
        assert any(f'"{kind}"' in r for r in rows), kind
    # the log's alert monitor records the alert just after the break-glass entry commits
    deadline = time.monotonic() + 10
    while not any('"alert"' in r for r in rows) and time.monotonic() < deadline:
        time.sleep(0.1)
        rows = audit_rows(home.audit_log("broker-mash-demo"), "REF-IT-GLASS")
    assert any('"alert"' in r and "break" in r for r in rows)


def test_without_break_glass_the_same_request_waits_for_review(
    home: Home, client: BrokerClient
) -> None:
    summary = client.lookup(_cin_refused("REF-IT-NOGLASS", home))
    assert set(statuses(summary).values()) == {AgencyStatus.PENDING_REVIEW}


def test_break_glass_never_overrides_a_deny(home: Home, client: BrokerClient) -> None:
    req = red_request("REF-IT-GLASS-DENY", demo_subjects(home)[:1])
    req.purpose, req.statutory_gateway = "early_help", "children_act_2004_s10"
    req.consent.state, req.consent.reason = "refused", ""
    req.break_glass.reason = "risk_of_significant_harm"
    req.break_glass.justification = JUSTIFICATION
    summary = client.lookup(req)
    assert set(statuses(summary).values()) == {AgencyStatus.WITHHELD}
    assert audit_rows(home.audit_log("adapter-police"), "REF-IT-GLASS-DENY") == []
