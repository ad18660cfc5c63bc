"""A locked audit log fails the lookup closed: a clear error, and no query leaves the broker."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

from broker.client import BrokerClient
from mash.app.cluster import Cluster
from mash.home import Home
from tests.integration.helpers import audit_rows, demo_subjects, red_request

pytestmark = pytest.mark.integration


def test_locked_audit_log_refuses_the_lookup_and_sends_nothing(
    home: Home, cluster: Cluster, client: BrokerClient
) -> None:
    blocker = sqlite3.connect(home.audit_log("broker-mash-demo"), timeout=1)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        with pytest.raises(grpc.RpcError) as err:
            client.lookup(red_request("REF-IT-LOCKED", demo_subjects(home)))
    finally:
        blocker.rollback()
        blocker.close()
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "audit log unavailable" in (err.value.details() or "")
    for agency in ("police", "health", "education", "housing"):
        assert audit_rows(home.audit_log(f"adapter-{agency}"), "REF-IT-LOCKED") == []
    # and the broker recovers once the lock is gone
    summary = client.lookup(red_request("REF-IT-UNLOCKED", demo_subjects(home)))
    assert summary.agencies
