"""Broker -> children's social care adapter -> a real PostgreSQL reporting warehouse.

Real processes over mTLS on loopback, real signatures, the SQL backend reading the
synthetic social care warehouse with a read-only account through the shipped mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from broker.client import BrokerClient
from broker.summary_text import format_summary
from certs.signing import TrustStore
from identity.tokens import issue_token
from mash.app.cluster import Cluster, ClusterError
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import Agency, AgencyStatus, MatchBand, Role
from tests.integration.helpers import demo_subjects, red_request, statuses
from tests.postgres import Warehouse

pytestmark = pytest.mark.integration

CSC = Agency.CHILDRENS_SOCIAL_CARE


@pytest.fixture(scope="module")
def sql_cluster(home: Home, warehouse: Warehouse) -> Iterator[Cluster]:
    settings = {"backend": "sql", "backend_options": warehouse.backend_options(),
                "health_interval_s": 0.5}
    with Cluster(home, agencies=(CSC, Agency.POLICE),
                 adapter_settings={CSC: settings}) as cluster:
        yield cluster


def _lookup(home: Home, cluster: Cluster, referral: str) -> pb.ReferralSummary:
    token = issue_token(home, sub="sw-55", role=Role.MASH_SOCIAL_WORKER)
    with BrokerClient(home, cluster.broker.address, token) as client:
        return client.lookup(red_request(referral, demo_subjects(home)))


def test_a_lookup_discloses_signed_facts_read_from_postgresql(
        home: Home, sql_cluster: Cluster) -> None:
    summary = _lookup(home, sql_cluster, "REF-SQL-0001")
    assert statuses(summary) == {"childrens_social_care": AgencyStatus.DISCLOSED,
                                 "police": AgencyStatus.DISCLOSED}
    csc = next(a for a in summary.agencies if a.agency == "childrens_social_care")
    trust = TrustStore.load(home.trust_store)
    assert csc.signer_key_id in {k.key_id for k in trust.keys_for("adapter-childrens_social_care")}
    child = csc.subjects[0]
    assert child.match_band in (MatchBand.CERTAIN, MatchBand.HIGH)
    assert child.facts and all(f.record_id.split("/")[0] in ("cases", "cp_plans", "looked_after")
                               for f in child.facts)
    case = next(f for f in child.facts if f.record_id.startswith("cases/"))
    assert case.attributes["status"] in ("open", "closed") and case.attributes["team"]
    assert not csc.data_as_of, "a live database is not a copy"
    # the facts from the warehouse drive the summary as the demo store's do
    text_ = format_summary(summary)
    assert f"[{case.record_id}]" in text_


def test_a_schema_changed_under_a_running_adapter_is_reported_and_recovered(
        home: Home, sql_cluster: Cluster, warehouse: Warehouse) -> None:
    admin = warehouse.server.admin_engine(warehouse.database)
    rename = "ALTER TABLE social_care.cp_plans RENAME COLUMN category_of_abuse TO {}"
    with admin.connect() as conn:
        conn.execute(text(rename.format("abuse_category")))
    try:
        summary = _lookup(home, sql_cluster, "REF-SQL-0002")
        csc = next(a for a in summary.agencies if a.agency == "childrens_social_care")
        assert csc.status == AgencyStatus.UNAVAILABLE
        assert [r.code for r in csc.reasons if r.code.startswith("backend")] == \
            ["backend_misconfigured"]
        assert all(not s.facts for s in csc.subjects)
        health = json.loads((home.run_dir / "adapter-childrens_social_care.health.json").read_text())
        fault = health["components"]["backend"]["fault"]
        assert "category_of_abuse" in fault and "does not exist" in fault
        assert statuses(summary)["police"] == AgencyStatus.DISCLOSED
    finally:
        with admin.connect() as conn:
            conn.execute(text("ALTER TABLE social_care.cp_plans RENAME COLUMN abuse_category "
                              "TO category_of_abuse"))
        admin.dispose()
    again = _lookup(home, sql_cluster, "REF-SQL-0003")
    assert statuses(again)["childrens_social_care"] == AgencyStatus.DISCLOSED


def test_an_adapter_with_a_writable_account_refuses_to_start(
        home: Home, warehouse: Warehouse) -> None:
    options = warehouse.backend_options("mash_kit")  # owns the kit's schema: it can write
    cluster = Cluster(home, agencies=(CSC,),
                      adapter_settings={CSC: {"backend": "sql", "backend_options": options}})
    with pytest.raises(ClusterError) as err:
        cluster.start(timeout_s=30)
    assert "adapter-childrens_social_care cannot start" in str(err.value)
    assert "may create objects in schema mash_kit" in str(err.value)
