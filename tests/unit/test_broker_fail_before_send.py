"""A lookup that fails before any query leaves still leaves its intent and an error outcome."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest

from broker.config import AdapterEndpoint, BrokerConfig
from broker.planning import Requester
from broker.requests import parse_lookup
from broker.server import build_parts
from broker.service import BrokerService
from certs.signing import SigningKey
from mash.app.cluster import DEFAULT_BROKER_ID, prepare_home
from mash.app.demo import red_request
from mash.clock import london_today
from mash.demo_data import demo_referrals
from mash.home import Home
from mash.vocab import Agency, Role


def test_a_signing_failure_sends_nothing_and_is_on_record(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    home = Home.at(tmp_path / "h")
    prepare_home(home, people=60, seed=3)
    cfg = BrokerConfig(broker_id=DEFAULT_BROKER_ID, home=home,
                       adapters=(AdapterEndpoint(Agency.POLICE, "127.0.0.1:9"),), dev_mode=True)

    def broken(self: SigningKey, domain: bytes, payload: bytes) -> bytes:
        raise RuntimeError("HSM unavailable")

    lookup = parse_lookup(red_request("REF-SIGN-1", demo_referrals(home)[0]["subjects"]),
                          london_today())
    staff = Requester("sw-1", Role.MASH_SOCIAL_WORKER, DEFAULT_BROKER_ID)

    async def run() -> None:
        parts, audit = build_parts(cfg)  # on the loop, as `mash broker serve` does
        assert audit is not None
        monkeypatch.setattr(SigningKey, "sign", broken)
        try:
            await BrokerService(parts).run_lookup(lookup, staff, time.perf_counter())
        finally:
            await parts.clients.close()
            parts.reviews.close()
            audit.close()

    with pytest.raises(RuntimeError, match="HSM"):
        asyncio.run(run())
    con = sqlite3.connect(home.audit_log(cfg.name))
    rows = [json.loads(r[0]) for r in con.execute("SELECT core FROM entries ORDER BY id")]
    con.close()
    kinds = [(r["kind"], r.get("outcome")) for r in rows
             if r.get("referral_id") == "REF-SIGN-1" and r["kind"] != "alert"]
    assert kinds[0] == ("lookup_requested", None)
    assert ("policy_decision", None) in kinds
    assert kinds[-1] == ("lookup_completed", "error")
    assert not any(k == "query_sent" for k, _ in kinds)  # nothing left the broker
