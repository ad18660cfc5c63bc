"""The police researcher queue, end to end: broker and adapters as processes over real mTLS.

A Red referral's lookup reaches a police adapter whose backend is a researcher searching
by hand: the summary shows police `pending_research`; the researcher lists, reads and
answers the item through `mash adapter research` (a client of the adapter over mTLS, with
a staff token bound to its certificate); the broker collects the signed answer when the
summary is next viewed -- or, without anyone viewing it, on its background sweep --
verifies it and files it. Refusals (a category the agreement does
not permit, a second answer, an unknown item) change nothing; a restarted adapter keeps
its queue.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mash.app.cluster import Cluster
from mash.clock import london_today
from mash.home import Home
from mash.vocab import Agency
from tests.integration.helpers import audit_rows

pytestmark = pytest.mark.integration

MASH = [sys.executable, "-m", "mash.app"]
CP_NOT_SOUGHT = ["--purpose", "child_protection_enquiry", "--consent", "not_sought",
                 "--consent-reason", "risk_of_significant_harm"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def queue_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("police-research") / "queue.sqlite"


@pytest.fixture(scope="module")
def research_cluster(home: Home, queue_path: Path) -> Iterator[Cluster]:
    # A fixed port, so the adapter comes back where the broker expects it after a restart.
    # The alert window is wider than any Red timescale: every pending Red item alerts.
    settings = {"backend": "research", "health_interval_s": 0.2,
                "listen": f"127.0.0.1:{_free_port()}",
                "backend_options": {"queue": str(queue_path), "alert_minutes": 20_000}}
    # The broker sweeps for answers every 0.3 s (30 s by default).
    with Cluster(home, agencies=(Agency.POLICE, Agency.HEALTH),
                 adapter_settings={Agency.POLICE: settings},
                 broker_settings={"research_collect_interval_s": 0.3}) as cluster:
        yield cluster


def mash(home: Home, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """One `mash` command against `home`, as its own process."""
    result = subprocess.run([*MASH, *argv, "--home", str(home.root)], capture_output=True,
                            text=True, timeout=90, check=False,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def research(home: Home, *argv: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """`mash adapter research ...` as the police researcher `res-7`."""
    return mash(home, "adapter", "research", *argv, "--agency", "police", "--sub", "res-7",
                ok=ok)


def _referral(home: Home, rid: str) -> None:
    born = (london_today() - timedelta(days=3000)).isoformat()
    mash(home, "referral", "create", "--id", rid, "--source", "school",
         "--reason", "Bruising noticed at school.", "--rag", "red", "--by", "sw-9",
         "--subject", f"role=child,given_name=Ada,family_name=Researchby,"
                      f"date_of_birth={born},postcode=ZZ99 1AA",
         "--subject", "role=parent_carer,given_name=Bea,family_name=Researchby,"
                      "date_of_birth=1990-03-04")
    mash(home, "referral", "lookup", rid, *CP_NOT_SOUGHT, "--by", "sw-9")


def _police(home: Home, rid: str) -> dict[str, Any]:
    report = json.loads(
        mash(home, "summary", "show", rid, "--format", "json", "--by", "sw-9").stdout)
    police: dict[str, Any] = next(a for a in report["agencies"] if a["agency"] == "police")
    return police


def _items(home: Home, state: str = "pending") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        research(home, "list", "--state", state, "--json").stdout)
    return items


def _item_for(home: Home, rid: str) -> dict[str, Any]:
    return next(i for i in _items(home) if i["referral_id"] == rid)


def test_a_red_lookup_waits_for_the_researcher_and_their_signed_answer_lands_in_the_summary(
        home: Home, research_cluster: Cluster, queue_path: Path) -> None:
    _referral(home, "REF-RES-0001")
    police = _police(home, "REF-RES-0001")
    assert police["status"] == "pending_research"
    assert any(r["code"] == "research_queued" for r in police["reasons"])
    assert police["signer_key_id"], "the pending answer is signed and verified too"

    item = _item_for(home, "REF-RES-0001")
    assert item["rag"] == "red" and item["due_at"] and item["state"] == "pending"
    assert item["alert"] is True
    assert "ALERT" in research(home, "list").stdout
    shown = json.loads(research(home, "show", item["item_id"], "--json").stdout)
    assert {s["subject_id"] for s in shown["subjects"]} == {"child-1", "parent_carer-1"} or \
        len(shown["subjects"]) == 2
    assert shown["subjects"][0]["identifiers"]["family_name"] == "Researchby"
    child = shown["subjects"][0]["subject_id"]
    permitted = next(p["categories"] for p in shown["permitted"] if p["subject_id"] == child)
    assert "domestic_abuse_incidents" in permitted

    # Refused, and nothing changes: a category this query does not permit, an unknown item.
    refused = research(home, "answer", item["item_id"], "--fact", child, "camhs",
                       "2025-01-02", "A health record", ok=False)
    assert refused.returncode == 2
    assert "not permitted" in refused.stderr and "camhs" in refused.stderr
    unknown = research(home, "answer", "R-000000000000", "--not-known", ok=False)
    assert unknown.returncode == 2 and "no research item" in unknown.stderr
    assert _police(home, "REF-RES-0001")["status"] == "pending_research"

    day = (london_today() - timedelta(days=40)).isoformat()
    done = research(home, "answer", item["item_id"], "--fact", child,
                    "domestic_abuse_incidents", day,
                    "Domestic abuse incident at the home address; child present",
                    "--band", f"{child}=certain")
    assert "answered" in done.stdout
    again = research(home, "answer", item["item_id"], "--not-known", ok=False)
    assert again.returncode == 2 and "already answered" in again.stderr

    police = _police(home, "REF-RES-0001")
    assert police["status"] == "disclosed"
    facts = police["facts_by_category"]["domestic_abuse_incidents"]
    assert [f["summary"] for f in facts] == [
        "Domestic abuse incident at the home address; child present"]
    assert police["signer_key_id"] and police["lookup_id"].endswith(
        "-research-" + item["query_id"])
    assert not [i for i in _items(home) if i["referral_id"] == "REF-RES-0001"]
    answered = next(i for i in _items(home, "answered") if i["item_id"] == item["item_id"])
    assert answered["answered_by"] == "res-7" and answered["outcome"] == "disclosed"

    # Audited at both ends, by id; the adapter's answer left once and the broker verified it.
    adapter_log = audit_rows(home.audit_log("adapter-police"), "REF-RES-0001")
    kinds = [json.loads(r)["kind"] for r in adapter_log]
    for kind in ("research_queued", "research_viewed", "research_answer_refused",
                 "research_answered", "disclosure_sent"):
        assert kind in kinds, kind
    broker_log = [json.loads(r) for r in audit_rows(home.audit_log("broker-mash-demo"),
                                                    "REF-RES-0001")]
    verified = [e for e in broker_log if e["kind"] == "disclosure_verified"
                and e.get("query_id") == item["query_id"]]
    assert [e["outcome"] for e in verified] == ["pending_research", "disclosed"]
    mode = queue_path.stat().st_mode & 0o777
    assert mode == 0o600
    with sqlite3.connect(queue_path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1


def test_not_known_and_a_restarted_adapter_keeps_its_queue(
        home: Home, research_cluster: Cluster) -> None:
    _referral(home, "REF-RES-0002")
    item = _item_for(home, "REF-RES-0002")
    research_cluster.kill("adapter-police")
    research_cluster.respawn("adapter-police")
    assert _item_for(home, "REF-RES-0002")["item_id"] == item["item_id"]
    research(home, "answer", item["item_id"], "--not-known")
    police = _police(home, "REF-RES-0002")
    assert police["status"] == "not_known"
    assert any(r["code"] == "researched_by_hand" for r in police["reasons"])


def test_red_items_alert_in_health_and_through_the_alerts_command(
        home: Home, research_cluster: Cluster) -> None:
    _referral(home, "REF-RES-0003")
    alerts = research(home, "alerts", ok=False)
    assert alerts.returncode == 1 and "ALERT" in alerts.stdout
    assert "REF-RES-0003" in alerts.stdout
    give_up = time.monotonic() + 20
    while "Red research item(s)" not in _status(home):  # the next health probe raises it
        assert time.monotonic() < give_up, _status(home)
        time.sleep(0.2)
    # an IG lead's token is not a researcher's
    other = mash(home, "adapter", "research", "list", "--agency", "police", "--token",
                 _token(home, "ig_lead"), ok=False)
    assert other.returncode == 2 and "researcher" in other.stderr


def _status(home: Home) -> str:
    """`mash adapter status` of the police adapter (it reads the adapter's status file)."""
    return subprocess.run([*MASH, "adapter", "status", "--config",
                           str(home.config_dir / "adapter-police.toml")], capture_output=True,
                          text=True, timeout=60, check=False).stdout


def _token(home: Home, role: str) -> str:
    return mash(home, "token", "issue", "--role", role, "--sub", "ig-1").stdout.strip()


def _delivery(home: Home, cluster: Cluster, as_name: str) -> Any:
    """A ResearchDelivery stub of the police adapter, presenting `as_name`'s certificate."""
    import grpc

    from certs.names import PeerKind, Principal
    from certs.tls import channel_credentials, client_channel_options
    from mash.v1 import research_pb2_grpc

    address = cluster.adapter(Agency.POLICE).address
    channel = grpc.secure_channel(address, channel_credentials(home, as_name),
                                  options=client_channel_options(
                                      Principal(PeerKind.ADAPTER, "police"), address))
    return research_pb2_grpc.ResearchDeliveryStub(channel)


def test_only_the_broker_that_asked_collects_and_only_with_the_query_hash(
        home: Home, research_cluster: Cluster) -> None:
    import grpc

    from mash.v1 import research_pb2 as rpb

    _referral(home, "REF-RES-0004")
    item = _item_for(home, "REF-RES-0004")
    wrong_hash = rpb.CollectRequest(query_id=item["query_id"], query_sha256=b"\0" * 32)
    with pytest.raises(grpc.RpcError) as refused:
        _delivery(home, research_cluster, "broker-mash-demo").Collect(wrong_hash, timeout=10)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as staff:
        _delivery(home, research_cluster, "client-staff").Collect(wrong_hash, timeout=10)
    assert staff.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_token_of_another_mash_or_another_device_is_refused(
        home: Home, research_cluster: Cluster) -> None:
    other_mash = mash(home, "token", "issue", "--role", "agency_researcher", "--sub", "res-9",
                      "--broker-id", "mash-leeds").stdout.strip()
    refused = mash(home, "adapter", "research", "list", "--agency", "police", "--token",
                   other_mash, ok=False)
    assert refused.returncode == 1 and "not for a MASH this adapter serves" in refused.stderr
    device = mash(home, "token", "issue", "--role", "agency_researcher", "--sub", "res-9",
                  "--client", "client-console").stdout.strip()
    copied = mash(home, "adapter", "research", "list", "--agency", "police", "--token", device,
                  ok=False)
    assert copied.returncode == 1 and "WrongCertificate" in copied.stderr


def test_the_broker_files_an_answer_in_the_background_without_anyone_viewing_the_summary(
        home: Home, research_cluster: Cluster) -> None:
    _referral(home, "REF-RES-0005")
    item = _item_for(home, "REF-RES-0005")
    research(home, "answer", item["item_id"], "--not-known")

    def collected() -> list[dict[str, Any]]:
        rows = [json.loads(r) for r in audit_rows(home.audit_log("broker-mash-demo"),
                                                  "REF-RES-0005")]
        return [e for e in rows if e["kind"] == "disclosure_verified"
                and e.get("query_id") == item["query_id"] and e["outcome"] == "not_known"]

    give_up = time.monotonic() + 30
    while not collected():  # the broker's next sweep collects it; nobody views the summary
        assert time.monotonic() < give_up, "the broker did not collect the answer"
        time.sleep(0.1)
    (event,) = collected()
    assert (event["actor_id"], event["actor_role"], event["actor_org"]) == (
        "broker-mash-demo", "broker", "mash-demo")
    # Filed with the referral: the next view shows it, and does not collect it again.
    police = _police(home, "REF-RES-0005")
    assert police["status"] == "not_known"
    assert police["lookup_id"].endswith("-research-" + item["query_id"])
    assert len(collected()) == 1
