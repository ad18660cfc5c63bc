"""A purpose an agreement does not permit sends no query to that adapter."""

from __future__ import annotations

import pytest

from broker.client import BrokerClient
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import AgencyStatus
from tests.integration.helpers import audit_rows, demo_subjects, red_request

pytestmark = pytest.mark.integration


def test_unpermitted_purpose_sends_no_query_to_that_adapter(
    home: Home, client: BrokerClient
) -> None:
    # Crime and disorder prevention (s115) is in the police and housing agreements only.
    req = red_request("REF-IT-S115", demo_subjects(home))
    req.purpose = "crime_and_disorder_prevention"
    req.statutory_gateway = "crime_and_disorder_act_1998_s115"
    req.consent.state, req.consent.reason = "given", ""
    summary: pb.ReferralSummary = client.lookup(req)
    by_agency = {a.agency: a for a in summary.agencies}

    for agency in ("health", "education"):
        assert by_agency[agency].status == AgencyStatus.WITHHELD
        assert audit_rows(home.audit_log(f"adapter-{agency}"), "REF-IT-S115") == []
    for agency in ("police", "housing"):
        assert by_agency[agency].status != AgencyStatus.WITHHELD
        assert audit_rows(home.audit_log(f"adapter-{agency}"), "REF-IT-S115")
