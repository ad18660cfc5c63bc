"""Nothing lost: a broker killed with SIGKILL during load leaves a log that verifies and that
shows every started lookup, the unfinished ones marked outcome_unknown on restart."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time

import grpc
import pytest

from broker.client import BrokerClient
from identity.tokens import issue_token
from mash.app.cluster import Cluster
from mash.home import Home
from mash.vocab import PARTNER_AGENCIES, Role
from tests.integration.helpers import demo_subjects, red_request

pytestmark = pytest.mark.integration


def _kinds_by_lookup(log_path: object) -> dict[str, set[str]]:
    con = sqlite3.connect(f"file:{log_path}?mode=ro", uri=True)
    try:
        rows = [json.loads(r[0]) for r in con.execute("SELECT core FROM entries ORDER BY id")]
    finally:
        con.close()
    by_id: dict[int, dict[str, object]] = {}
    out: dict[str, set[str]] = {}
    for n, row in enumerate(rows, start=1):
        by_id[n] = row
        lookup = row.get("lookup_id")
        if row["kind"] == "outcome_unknown":
            lookup = by_id[row["refers_to"][0]].get("lookup_id")
        if lookup:
            out.setdefault(str(lookup), set()).add(str(row["kind"]))
    return out


def _durable_in_flight(log_path: object, referral_prefix: str) -> set[str]:
    """Lookups of these referrals whose intent is on disk and whose outcome is not (yet)."""
    con = sqlite3.connect(f"file:{log_path}?mode=ro", uri=True)
    try:
        rows = [json.loads(r[0]) for r in con.execute("SELECT core FROM entries")]
    finally:
        con.close()
    started = {r["lookup_id"] for r in rows if r["kind"] == "lookup_requested"
               and str(r.get("referral_id", "")).startswith(referral_prefix)}
    return started - {r.get("lookup_id") for r in rows if r["kind"] == "lookup_completed"}


def test_sigkill_during_load_loses_nothing(home: Home) -> None:
    cluster = Cluster(home, agencies=PARTNER_AGENCIES,
                      adapter_delays_ms={a: 150 for a in PARTNER_AGENCIES})
    with cluster:
        broker = cluster.broker
        token = issue_token(home, sub="sw-kill", role=Role.MASH_SOCIAL_WORKER)
        stop = threading.Event()
        answered: list[str] = []

        def load(n: int) -> None:
            with BrokerClient(home, broker.address, token, timeout_s=10) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        s = c.lookup(red_request(f"REF-KILL-{n}-{i}", demo_subjects(home)))
                        answered.append(s.lookup_id)
                    except grpc.RpcError:
                        return

        threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(answered) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(answered) >= 8, "the load never got going"
        # Kill while a lookup is between its durable intent and its outcome (the adapters
        # take 150 ms): on a loaded machine "right after the 8th answer" could fall before
        # the next intents reached the disk.
        log = home.audit_log("broker-mash-demo")
        while not _durable_in_flight(log, "REF-KILL-") and time.monotonic() < deadline:
            time.sleep(0.01)
        cluster.kill(broker.name)  # mid-flight: several lookups are between intent and outcome
        stop.set()
        for t in threads:
            t.join(30)
        cluster.respawn(broker.name)

    log = home.audit_log("broker-mash-demo")
    verify = subprocess.run([sys.executable, "-m", "mash.app", "audit", "verify", "--home",
                             str(home.root)], capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    kinds = _kinds_by_lookup(log)
    started = {k for k, v in kinds.items() if "lookup_requested" in v}
    for lookup_id in answered:  # every answer the client saw is in the log, completed
        assert "lookup_completed" in kinds[lookup_id]
    unfinished = {k for k in started if "lookup_completed" not in kinds[k]}
    assert unfinished, "the kill should have caught lookups in flight"
    for lookup_id in unfinished:
        assert "outcome_unknown" in kinds[lookup_id]
