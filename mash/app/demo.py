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
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import TextIO

from google.protobuf import json_format

from broker.client import BrokerClient
from broker.summary_text import csc_banner, format_status_table, format_summary
from certs.files import write_private
from identity.tokens import issue_token
from mash.app.cluster import Cluster, prepare_home
from mash.app.console_stack import ConsoleStack
from mash.demo_data import DemoReferral, demo_referrals
from mash.home import Home
from mash.v1 import mash_pb2 as pb
from mash.vocab import ConsentState, Purpose, Rag, ReasonCode, Role, StatutoryGateway


def red_request(referral_id: str, subjects: Sequence[Mapping[str, object]]) -> pb.LookupRequest:
    """A Red child-protection (s47) lookup, consent not sought: risk of significant harm."""
    req = pb.LookupRequest(
        referral_id=referral_id, rag=Rag.RED, purpose=Purpose.CHILD_PROTECTION_ENQUIRY,
        statutory_gateway=StatutoryGateway.CHILDREN_ACT_1989_S47,
        consent=pb.Consent(state=ConsentState.NOT_SOUGHT,
                           reason=ReasonCode.RISK_OF_SIGNIFICANT_HARM,
                           note="Seeking consent would place the child at further risk"),
    )
    for s in subjects:
        json_format.ParseDict(dict(s), req.subjects.add(), ignore_unknown_fields=True)
    return req


def green_request(referral_id: str, subjects: Sequence[Mapping[str, object]]) -> pb.LookupRequest:
    """A Green early-help lookup where the family refused consent: policy must deny it."""
    req = pb.LookupRequest(
        referral_id=referral_id, rag=Rag.GREEN, purpose=Purpose.EARLY_HELP,
        statutory_gateway=StatutoryGateway.CHILDREN_ACT_2004_S10,
        consent=pb.Consent(state=ConsentState.REFUSED),
    )
    for s in subjects[:1]:
        json_format.ParseDict(dict(s), req.subjects.add(), ignore_unknown_fields=True)
    return req


def record_and_ask(client: BrokerClient, referral_id: str,
                   demo: DemoReferral) -> pb.ReferralSummary:
    """Record the demo referral through the broker's API and run its Red lookup there.

    The broker files the summary with the referral itself; a re-run in the same
    home asks again for the referral already recorded.
    """
    import grpc

    from mash.v1 import referrals_pb2 as rpb

    request = red_request(referral_id, demo["subjects"])
    try:
        client.referrals("CreateReferral", rpb.CreateReferralRequest(
            referral_id=referral_id, source="police", rag=Rag.RED.value,
            reason=demo.get("description", "") or "demo referral",
            subjects=request.subjects))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    response: rpb.ReferralLookupResponse = client.referrals("Lookup", rpb.ReferralLookupRequest(
        referral_id=referral_id, purpose=request.purpose,
        statutory_gateway=request.statutory_gateway, consent=request.consent))
    return response.summary


def file_and_report(home: Home, client: BrokerClient, referral_id: str) -> str:
    """The referral's summary report from the broker: text, and HTML in HOME/reports/.

    Each reading is recorded in the broker's audit log before the report is returned.
    """

    from mash.v1 import referrals_pb2 as rpb

    html: rpb.SummaryResponse = client.referrals("GetSummary", rpb.SummaryRequest(
        referral_id=referral_id, format="html"))
    text: rpb.SummaryResponse = client.referrals("GetSummary", rpb.SummaryRequest(
        referral_id=referral_id, format="text"))
    html_path = home.ensure().reports_dir / f"{referral_id}.html"
    # The report holds (synthetic) personal data: private to the user, like `summary show --out`.
    write_private(html_path, html.document.encode("utf-8"))
    return text.document.rstrip("\n") + f"\n   HTML report: {html_path}"


class Stopped(KeyboardInterrupt):
    """SIGTERM, SIGINT or SIGHUP asked the demo to stop (its services are stopped first)."""


#: Signals that stop the demo and every service it started.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _stop_on_signals() -> dict[int, Callable[[int, FrameType | None], object] | int | None]:
    """Turn the stop signals into `Stopped`, once; returns the handlers they replace.

    Without this, SIGTERM ends the demo at once and its adapters and broker run on as
    orphans holding their audit logs' locks. After the first signal the others are
    ignored, so a second Ctrl-C cannot interrupt the shutdown itself.
    """
    def stop(signum: int, _frame: object) -> None:
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)
        raise Stopped(signal.Signals(signum).name)

    return {s: signal.signal(s, stop) for s in STOP_SIGNALS}


def run_demo(home: Home, *, people: int, seed: int, keep_running: bool, out: TextIO) -> int:
    """Run the demo; returns the exit code."""
    previous = _stop_on_signals()
    try:
        return _run_demo(home, people=people, seed=seed, keep_running=keep_running, out=out)
    except Stopped as stopped:
        print(f"   stopped by {stopped}", file=out, flush=True)
        return 130 if str(stopped) == "SIGINT" else 143
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _run_demo(home: Home, *, people: int, seed: int, keep_running: bool, out: TextIO) -> int:
    from mash.app.cli import main as mash_main

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    say(f"== Setting up {home.root}: dev PKI, identity provider, {people} synthetic people per "
        "agency, approved agreements")
    t0 = time.perf_counter()
    prepare_home(home, people=people, seed=seed)
    say(f"   done in {time.perf_counter() - t0:.1f}s")
    cluster = Cluster(home)
    say("   dev_mode = true: the broker accepts staff tokens from the development issuer in "
        f"{home.root} (never in production: a production broker names its identity provider "
        "in [identity], see docs/operator-guide.md)")
    say(f"== Starting {len(cluster.agencies)} agency adapters "
        f"({', '.join(str(a) for a in cluster.agencies)}) and the broker as separate processes "
        "over mTLS")
    cluster.start()
    web: ConsoleStack | None = None
    try:
        for name, s in cluster.services.items():
            say(f"   {name:<22} pid {s.process.pid:<7} {s.address}")
        web = ConsoleStack(home, cluster.broker.address).start()
        say(f"   {'idp (development)':<22} pid {web.services['idp'].process.pid:<7} {web.idp_url}")
        say(f"   {'console':<22} pid {web.services['console'].process.pid:<7} {web.console_url}")
        referrals = demo_referrals(home)
        subjects = referrals[0]["subjects"]
        token = issue_token(home, sub="sw-104", role=Role.MASH_SOCIAL_WORKER)
        with BrokerClient(home, cluster.broker.address, token) as client:
            say("\n== Lookup 1: Red child-protection enquiry (s47), consent not sought "
                "(risk of significant harm)")
            say(f"   {referrals[0].get('description', '')}")
            red = record_and_ask(client, "REF-2026-0001", referrals[0])
            banner = csc_banner(red)
            if banner:
                say(f"   {banner}")
            say("   every answer below was signed by the agency and verified by the broker:")
            say(format_status_table(red))
            say("\n== Lookup 2: Green early help (s10), consent refused - policy denies sharing")
            green = client.lookup(green_request("REF-2026-0002", subjects))
            say(format_summary(green))
            say("\n== The Red lookup filed with its referral record: the summary report")
            say(file_and_report(home, client, "REF-2026-0001"))
        say("\n== Audit trail for REF-2026-0001 (broker and every adapter)")
        mash_main(["audit", "show", "--referral", "REF-2026-0001", "--home", str(home.root)])
        say("\n== Audit trail for REF-2026-0002")
        mash_main(["audit", "show", "--referral", "REF-2026-0002", "--home", str(home.root)])
        if keep_running:
            say("\n== Verifying every audit log under the home")
            mash_main(["audit", "verify", "--home", str(home.root)])
            say(console_banner(web.console_url, running=True))
            say("\n== Services are running. In another terminal, for example:")
            say(f"   .venv/bin/mash lookup --home {home.root} --referral REF-2026-0003 --rag amber "
                "--purpose child_in_need_assessment --gateway children_act_1989_s17 "
                "--consent given --demo-referral 0")
            say("   Press Ctrl-C (or send SIGTERM) to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    finally:
        say("\n== Stopping services (each audit log closes with a signed checkpoint)")
        if web is not None:
            web.stop()
        cluster.stop()
        say("   stopped")
    say("\n== Verifying every audit log under the home: hash chains, Merkle checkpoints, signatures")
    verified = mash_main(["audit", "verify", "--home", str(home.root)])
    if web is not None:
        say(console_banner(web.console_url, running=False))
    return verified


def console_banner(url: str, *, running: bool) -> str:
    """Where the console is and whom to sign in as, one demo user per role."""
    from console.summary_view import words
    from identity.oidc import DEMO_USERS

    head = (f"\n== The MASH console: {url}" if running else
            f"\n== The MASH console ran at {url}; `mash demo --keep-running` "
            "(or `.venv/bin/mash demo --keep-running`) leaves it up")
    lines = [head, "   Sign in with 'Sign in' and choose one of these demo staff on the demo sign-in page:"]
    seen: set[str] = set()
    for user in DEMO_USERS:
        if user.role.value in seen:
            continue
        seen.add(user.role.value)
        lines.append(f"   {words(user.role.value):<22} {user.name} ({user.sub})")
    return "\n".join(lines)
