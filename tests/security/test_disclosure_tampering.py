"""Threat: a disclosure is forged, altered, signed by the wrong agency or replayed.

The broker must drop it, report the agency as `rejected` with the cause, and log it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import Agency, AgencyStatus, Role
from tests.integration.helpers import audit_rows, demo_subjects, red_request
from tests.integration.hostile import HostileProxy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def proxy(home: Home) -> Iterator[HostileProxy]:
    p = HostileProxy(home).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def hostile_cluster(home: Home, proxy: HostileProxy) -> Iterator[Cluster]:
    with Cluster(home, endpoint_overrides={Agency.POLICE: proxy.address}) as c:
        proxy.upstream = c.adapter("police").address
        yield c


@pytest.fixture()
def hclient(home: Home, hostile_cluster: Cluster) -> Iterator[BrokerClient]:
    token = issue_token(home, sub="sw-201", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, hostile_cluster.broker.address, token) as c:
        yield c


def _police(summary):  # type: ignore[no-untyped-def]
    return next(a for a in summary.agencies if a.agency == "police")


def test_untampered_answer_through_the_proxy_is_accepted(
    home: Home, proxy: HostileProxy, hclient: BrokerClient
) -> None:
    proxy.mode = "pass"
    summary = hclient.lookup(red_request("REF-SEC-PASS", demo_subjects(home)))
    assert _police(summary).status == AgencyStatus.DISCLOSED


@pytest.mark.parametrize(("mode", "code"), [
    ("flip_signature", "invalid_signature"),
    ("edit_content", "invalid_signature"),
    ("other_agency_key", "wrong_signer"),
    ("replay_previous", "query_hash_mismatch"),
    ("other_broker", "broker_mismatch"),  # a real signature, but for another MASH
])
def test_tampered_disclosure_is_rejected_and_reported(
    home: Home, proxy: HostileProxy, hclient: BrokerClient, mode: str, code: str
) -> None:
    proxy.mode = "pass"
    hclient.lookup(red_request(f"REF-SEC-PRE-{mode}", demo_subjects(home)))  # something to replay
    proxy.mode = mode
    referral = f"REF-SEC-{mode}"
    summary = hclient.lookup(red_request(referral, demo_subjects(home)))

    police = _police(summary)
    assert police.status == AgencyStatus.REJECTED
    assert not police.subjects, "nothing from a rejected disclosure may reach the summary"
    assert code in [r.code for r in police.reasons]
    others = [a for a in summary.agencies if a.agency != "police"]
    assert {a.status for a in others} == {AgencyStatus.DISCLOSED}
    assert any("disclosure_rejected" in r and code in r
               for r in audit_rows(home.audit_log("broker-mash-demo"), referral))
