"""Benchmark: an adapter's own CPU per query, in process, without gRPC or other processes.

    .venv/bin/python -m bench.adapter_query [--home DIR] [--agency A ...] [--queries N] [--json]
    (or `mash bench adapter ...`)

The lookup benchmark measures whole processes on a shared 2-core machine, where
another process's load moves the figure by more than most changes to the
adapter. This one builds an adapter exactly as `mash adapter serve` does
(`build_parts`; its audit log in a temporary folder, still written and fsync'd
by its writer thread) and calls `AdapterService.Query` directly with
broker-signed queries for the lookup benchmark's 64 Red requests, timing the
calling thread only (`time.thread_time`): the adapter's event-loop thread, the
part that is our own Python. It also times the parts of a query one by one
(signature check, matching with its store reads, records, signing) on the same
queries, to show where that CPU goes. gRPC's own serving cost is not included
(the lookup benchmark's no-op baseline measures it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from agency_adapters.backend import AgencyBackend, QueryIdentifiers
from agency_adapters.backend_threads import ThreadedBackend
from agency_adapters.config import AdapterConfig
from agency_adapters.matching import match_subjects
from agency_adapters.server import build_parts
from agency_adapters.service import AdapterParts, AdapterService, _identifiers
from audit.log import AuditLog
from certs.envelopes import VerifiedQuery, open_query, sign_disclosure, sign_query
from certs.signing import SigningKey
from certs.tls import PEER_CERT_KEY
from mash.app.cluster import DEFAULT_BROKER_ID, prepare_home
from mash.grpc_server import tune_gc_for_serving
from mash.home import Home
from mash.ids import new_id
from mash.v1 import mash_pb2 as pb
from mash.vocab import (
    AGENCY_CATEGORIES,
    PARTNER_AGENCIES,
    Agency,
    ConsentState,
    Purpose,
    Rag,
    ReasonCode,
    Role,
    StatutoryGateway,
    SubjectRole,
    parse,
)
from policy import PolicyRequest

REQUESTER = "bench-1"


class _PeerContext:
    """The one thing `AdapterService.Query` reads from its gRPC context: the peer's certificate."""

    def __init__(self, pem: bytes) -> None:
        self._auth = {PEER_CERT_KEY: [pem]}

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._auth


@dataclass(frozen=True)
class AgencyFigures:
    """Main-thread CPU per query (ms) of one adapter, and of its parts timed alone."""

    agency: str
    queries: int
    query_ms: float
    parts_ms: dict[str, float]
    store_people: int


class _QueryMaker:
    """Broker-signed queries for the bench's requests, built as the broker builds them."""

    def __init__(self, home: Home, parts: AdapterParts) -> None:
        from bench.lookup import _requests

        self.requests = _requests(home)
        self.key = SigningKey.load(home.signing_key(f"broker-{DEFAULT_BROKER_ID}"))
        # The agreement the broker would apply: the same one the adapter holds.
        decision = parts.engine.evaluate(PolicyRequest(
            agency=parts.agency, purpose=Purpose.CHILD_PROTECTION_ENQUIRY,
            statutory_gateway=StatutoryGateway.CHILDREN_ACT_1989_S47, rag=Rag.RED,
            consent_state=ConsentState.NOT_SOUGHT,
            consent_reason=ReasonCode.RISK_OF_SIGNIFICANT_HARM,
            requester_role=Role.MASH_SOCIAL_WORKER, requester_id=REQUESTER,
            subject_role=SubjectRole.CHILD, at=datetime.now(UTC), categories=None,
            break_glass=None, mash_id=DEFAULT_BROKER_ID))
        held = AGENCY_CATEGORIES[parts.agency]
        self.categories = [str(c) for c in decision.permitted_categories if c in held]
        self.agreement = (decision.agreement_id or "", decision.agreement_version or "")
        self.agency = str(parts.agency)

    def signed(self, i: int) -> pb.SignedQuery:
        """The i-th query (fresh id, nonce and time, as each broker query has)."""
        req = self.requests[i % len(self.requests)]
        now = datetime.now(UTC)
        query = pb.Query(
            query_id=new_id(), broker_id=DEFAULT_BROKER_ID, agency=self.agency,
            referral_id=req.referral_id, rag=req.rag, purpose=req.purpose,
            statutory_gateway=req.statutory_gateway, consent=req.consent,
            requester=pb.Requester(id=REQUESTER, role=str(Role.MASH_SOCIAL_WORKER),
                                   organisation=DEFAULT_BROKER_ID),
            subjects=req.subjects, categories=self.categories,
            agreement_id=self.agreement[0], agreement_version=self.agreement[1],
            nonce=secrets.token_hex(16), issued_at=now.isoformat(),
            due_at=(now + timedelta(hours=2)).isoformat(), deadline_ms=3000,
            lookup_id=new_id())
        return sign_query(query, self.key)


def _cpu_ms(calls: Sequence[Callable[[], object]], rounds: int = 3) -> float:
    """Thread CPU ms per call, the least of `rounds` passes (the least disturbed by others)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.thread_time()
        for call in calls:
            call()
        best = min(best, time.thread_time() - t0)
    return 1000 * best / len(calls)


def _candidates_of(backend: AgencyBackend, wanted: list[tuple[str, QueryIdentifiers]]) -> int:
    return sum(len(backend.candidates(q)) for _, q in wanted)


def _parts_ms(parts: AdapterParts, service: AdapterService,
              verified: list[VerifiedQuery], signed: list[pb.SignedQuery]) -> dict[str, float]:
    """The parts of a query, each timed alone over the same queries.

    `answer` runs on an event loop (its store reads in the backend's pool threads, so
    this thread's CPU leaves them out); the store's own parts are timed on its
    synchronous form in this thread.
    """
    now = datetime.now(UTC)
    today = now.date()
    assert isinstance(parts.backend, ThreadedBackend), "the bench measures the SQLite store"
    backend = parts.backend.backend
    wanted = [[(s.subject_id, _identifiers(s, today)) for s in v.query.subjects] for v in verified]
    loop = asyncio.new_event_loop()

    def answer(v: VerifiedQuery) -> pb.Disclosure:
        return loop.run_until_complete(service._answer(v.query, v.sha256))

    disclosures = [answer(v) for v in verified]
    figures = {
        "open_query": _cpu_ms([partial(open_query, s, parts.trust, broker_id=DEFAULT_BROKER_ID,
                                       at=now) for s in signed]),
        "answer": _cpu_ms([partial(answer, v) for v in verified]),
        "match_subjects": _cpu_ms([partial(match_subjects, backend, w, parts.thresholds)
                                   for w in wanted]),
        "store_candidates": _cpu_ms([partial(_candidates_of, backend, w) for w in wanted]),
        "sign_disclosure": _cpu_ms([partial(sign_disclosure, d, parts.signing_key)
                                    for d in disclosures]),
    }
    loop.close()
    return {k: round(v, 4) for k, v in figures.items()}


async def _run_queries(service: AdapterService, context: _PeerContext,
                       queries: list[pb.SignedQuery]) -> float:
    total = 0.0
    for q in queries:
        t0 = time.thread_time()
        await service.Query(q, context)  # only its auth_context() is read
        total += time.thread_time() - t0
    return total


def measure(home: Home, agency: Agency, queries: int) -> AgencyFigures:
    """Build `agency`'s adapter from `home` and measure it over `queries` queries."""
    config = AdapterConfig(agency=agency, home=home, store=home.agency_store(agency),
                           trusted_brokers=(DEFAULT_BROKER_ID,))
    parts = build_parts(config)
    parts.audit.close()  # the home's own log stays as the lookup benchmark left it
    with tempfile.TemporaryDirectory(prefix="mash-bench-adapter-") as tmp:
        audit = AuditLog.open(Path(tmp) / "audit.sqlite", owner=parts.name,
                              checkpoint_key=SigningKey.load(
                                  home.signing_key(f"audit-{parts.name}")).private_key)
        try:
            parts = replace(parts, audit=audit)
            service = AdapterService(parts)
            maker = _QueryMaker(home, parts)
            context = _PeerContext(home.tls_cert(f"broker-{DEFAULT_BROKER_ID}").read_bytes())
            warm = [maker.signed(i) for i in range(len(maker.requests))]
            measured = [maker.signed(i) for i in range(queries)]
            asyncio.run(_run_queries(service, context, warm))
            tune_gc_for_serving()  # as the server does once it is up
            total = asyncio.run(_run_queries(service, context, measured))
            signed = [maker.signed(i) for i in range(len(maker.requests))]
            verified = [open_query(s, parts.trust, broker_id=DEFAULT_BROKER_ID) for s in signed]
            parts_ms = _parts_ms(parts, service, verified, signed)
        finally:
            audit.close()
    store = parts.backend.backend if isinstance(parts.backend, ThreadedBackend) else None
    count = getattr(store, "count_people", None)
    people = int(count()) if callable(count) else -1
    asyncio.run(parts.backend.aclose())
    return AgencyFigures(str(agency), queries, round(1000 * total / queries, 4), parts_ms, people)


def main(argv: list[str] | None = None) -> int:
    """Entry point: print the figures (one JSON object with --json).

    With `--backend sql|extract`: the backend benchmark (`bench.adapter_backends`).
    """
    import sys

    args_in = sys.argv[1:] if argv is None else argv
    if any(a == "--backend" or a.startswith("--backend=") for a in args_in):
        from bench.adapter_backends import main as backends_main

        return backends_main(args_in)
    parser = argparse.ArgumentParser(prog="mash bench adapter", description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=Path(".mash-bench"),
                        help="home folder (prepared as the lookup benchmark prepares it)")
    parser.add_argument("--agency", action="append", default=[],
                        help="agency to measure (repeatable; default the four partners)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--people", type=int, default=10_000,
                        help="people per agency store when the home must be prepared")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from mash import logs

    logs.configure(json=False, level="warning")
    home = Home.at(args.home)
    prepare_home(home, people=args.people, seed=7)
    agencies = [parse(Agency, a) for a in args.agency] or list(PARTNER_AGENCIES)
    figures = [measure(home, a, args.queries) for a in agencies]
    result: dict[str, Any] = {
        "main_thread_cpu_ms_per_query": {f.agency: f.query_ms for f in figures},
        "mean_ms": round(statistics.fmean(f.query_ms for f in figures), 4),
        "parts_ms": {f.agency: f.parts_ms for f in figures},
        "store_people": {f.agency: f.store_people for f in figures},
        "queries": args.queries,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for f in figures:
            parts = "  ".join(f"{k} {v:.3f}" for k, v in f.parts_ms.items())
            print(f"{f.agency:>10}: {f.query_ms:.3f} ms/query on the event-loop thread "
                  f"({f.store_people:,} people)  parts: {parts}")
        print(f"load average (1 min): {result['load_avg_1m']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
