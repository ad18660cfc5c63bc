"""`mash demo`: the whole system on one machine, end to end, in one command.

Creates the home (dev PKI, identity provider, synthetic agency data, approved
agreements), starts four adapters and the broker as separate processes over
mTLS, runs a Red child-protection lookup for a child known to several agencies
and a Green lookup without consent that policy denies, prints both summaries,
files the Red lookup with its referral record and prints its summary report
(HTML in HOME/reports/), prints the audit trail, verifies the audit logs, and
shuts everything down.
"""

from __future__ import annotations

import contextlib
import signal
import time
from typing import Any, TextIO

from google.protobuf import json_format

from broker.client import BrokerClient
from broker.summary_text import csc_banner, format_status_table, format_summary
from certs.files import write_private
from identity.tokens import issue_token
from mash.app.cluster import Cluster, prepare_home
from mash.demo_data import demo_referrals
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import ConsentState, Purpose, Rag, ReasonCode, Role, StatutoryGateway


def red_request(referral_id: str, subjects: list[dict[str, Any]]) -> pb.LookupRequest:
    """A Red child-protection (s47) lookup, consent not sought: risk of significant harm."""
    req = pb.LookupRequest(
        referral_id=referral_id, rag=Rag.RED, purpose=Purpose.CHILD_PROTECTION_ENQUIRY,
        statutory_gateway=StatutoryGateway.CHILDREN_ACT_1989_S47,
        consent=pb.Consent(state=ConsentState.NOT_SOUGHT,
                           reason=ReasonCode.RISK_OF_SIGNIFICANT_HARM,
                           note="Seeking consent would place the child at further risk"),
    )
    for s in subjects:
        json_format.ParseDict(s, req.subjects.add(), ignore_unknown_fields=True)
    return req


def green_request(referral_id: str, subjects: list[dict[str, Any]]) -> pb.LookupRequest:
    """A Green early-help lookup where the family refused consent: policy must deny it."""
    req = pb.LookupRequest(
        referral_id=referral_id, rag=Rag.GREEN, purpose=Purpose.EARLY_HELP,
        statutory_gateway=StatutoryGateway.CHILDREN_ACT_2004_S10,
        consent=pb.Consent(state=ConsentState.REFUSED),
    )
    for s in subjects[:1]:
        json_format.ParseDict(s, req.subjects.add(), ignore_unknown_fields=True)
    return req


def file_and_report(home: Home, summary: pb.ReferralSummary, demo: dict[str, Any]) -> str:
    """Record the demo referral, file `summary` with it, write the HTML report.

    Returns the text report (and where the HTML went). The report's reading is
    recorded in the referral audit log first, as `mash summary show` does.
    """
    from datetime import UTC, datetime

    from broker import referral_audit, referral_flow
    from broker.referral_lookup import file_summary
    from broker.referrals import DuplicateReferral, NewReferral, open_store, subjects_from_specs
    from broker.report import RENDERERS, build_report
    from mash.vocab import ReferralSource
    from policy.engine import load_engine

    specs = [{"subject_id": s["subject_id"], "role": s["role"],
              **{k: v for k, v in s["identifiers"].items() if isinstance(v, str) and v}}
             for s in demo["subjects"]]
    now = datetime.now(UTC)
    store = open_store(home)
    try:
        try:
            referral = store.create(NewReferral(
                referral_id=summary.referral_id, received_at=now, source=ReferralSource.POLICE,
                reason=demo.get("description", "") or "demo referral",
                subjects=subjects_from_specs(specs), rag=Rag(summary.rag), by="sw-104"))
        except DuplicateReferral:  # a re-run in the same home: file with the existing record
            referral = store.get(summary.referral_id)
        file_summary(store, summary, load_engine(home).agreements, "sw-104")
        referral_flow.remember_terms(store, summary.referral_id, summary.lookup_id,
                                     referral_flow.LookupTerms.of(
                                         summary.purpose, ConsentState.NOT_SOUGHT,
                                         ReasonCode.RISK_OF_SIGNIFICANT_HARM,
                                         summary.statutory_gateway), now)
        referral = store.get(summary.referral_id)
        summaries = [st.summary for st in store.summaries(summary.referral_id)]
        deletions = store.deletions(summary.referral_id)
    finally:
        store.close()
    report = build_report(referral, summaries, now=now, deletions=deletions)
    referral_audit.record(home, referral_audit.viewed_event(
        referral.referral_id, "sw-104", str(Role.MASH_SOCIAL_WORKER), "text+html",
        tuple(s.lookup_id for s in summaries)))
    html_path = home.ensure().reports_dir / f"{referral.referral_id}.html"
    # The report holds (synthetic) personal data: private to the user, like `summary show --out`.
    write_private(html_path, RENDERERS["html"](report).encode("utf-8"))
    return RENDERERS["text"](report).rstrip("\n") + f"\n   HTML report: {html_path}"


def run_demo(home: Home, *, people: int, seed: int, keep_running: bool, out: TextIO) -> int:
    """Run the demo; returns the exit code."""
    from mash.app.cli import main as mash_main

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say(f"== Setting up {home.root}: dev PKI, identity provider, {people} synthetic people per "
        "agency, approved agreements")
    t0 = time.perf_counter()
    prepare_home(home, people=people, seed=seed)
    say(f"   done in {time.perf_counter() - t0:.1f}s")
    cluster = Cluster(home)
    say(f"== Starting {len(cluster.agencies)} agency adapters "
        f"({', '.join(str(a) for a in cluster.agencies)}) and the broker as separate processes "
        "over mTLS")
    cluster.start()
    try:
        for name, s in cluster.services.items():
            say(f"   {name:<22} pid {s.process.pid:<7} {s.address}")
        referrals = demo_referrals(home)
        subjects = referrals[0]["subjects"]
        token = issue_token(home, sub="sw-104", role=Role.MASH_SOCIAL_WORKER)
        with BrokerClient(home, cluster.broker.address, token) as client:
            say("\n== Lookup 1: Red child-protection enquiry (s47), consent not sought "
                "(risk of significant harm)")
            say(f"   {referrals[0].get('description', '')}")
            red = client.lookup(red_request("REF-2026-0001", subjects))
            banner = csc_banner(red)
            if banner:
                say(f"   {banner}")
            say("   every answer below was signed by the agency and verified by the broker:")
            say(format_status_table(red))
            say("\n== Lookup 2: Green early help (s10), consent refused - policy denies sharing")
            green = client.lookup(green_request("REF-2026-0002", subjects))
            say(format_summary(green))
        say("\n== The Red lookup filed with its referral record: the summary report")
        say(file_and_report(home, red, referrals[0]))
        say("\n== Audit trail for REF-2026-0001 (broker and every adapter)")
        mash_main(["audit", "show", "--referral", "REF-2026-0001", "--home", str(home.root)])
        say("\n== Audit trail for REF-2026-0002")
        mash_main(["audit", "show", "--referral", "REF-2026-0002", "--home", str(home.root)])
        if keep_running:
            say("\n== Verifying every audit log under the home")
            mash_main(["audit", "verify", "--home", str(home.root)])
            say("\n== Services are running. In another terminal, for example:")
            say(f"   .venv/bin/mash lookup --home {home.root} --referral REF-2026-0003 --rag amber "
                "--purpose child_in_need_assessment --gateway children_act_1989_s17 "
                "--consent given --demo-referral 0")
            say("   Press Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    finally:
        say("\n== Stopping services (each audit log closes with a signed checkpoint)")
        cluster.stop()
        say("   stopped")
    say("\n== Verifying every audit log under the home: hash chains, Merkle checkpoints, signatures")
    return mash_main(["audit", "verify", "--home", str(home.root)])
