"""Benchmark: what the audit log costs an asyncio caller per lookup (the broker's pattern).

    .venv/bin/python bench/audit_asyncio.py [--lookups 3000] [--concurrency 8]

Each simulated lookup writes 14 durable entries (intent, 4 decisions, 4 queries,
4 verified disclosures, outcome) and awaits them, three ways in the same run:

* baseline -- no audit log at all (the loop's own overhead);
* per-event -- `asyncio.gather(*(wrap_future(log.submit(e)) ...))`: one Future and
  one event-loop wake-up per entry;
* grouped  -- `await wrap_future(log.submit_many(events))`: one of each per lookup.

Prints lookups/s and CPU microseconds per lookup (process time: both threads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.events import AuditEvent, EventKind  # noqa: E402
from audit.log import AuditLog  # noqa: E402
from mash.logs import configure  # noqa: E402

AGENCIES = ("police", "health", "education", "housing")


def lookup_events(n: int) -> list[AuditEvent]:
    """The 14 entries of one lookup."""
    base: dict[str, Any] = {"actor_id": f"sw-{n % 40}", "actor_role": "mash_social_worker",
            "actor_org": "mash-demo", "referral_id": f"REF-{n}", "lookup_id": f"LK-{n}",
            "purpose": "child_protection_enquiry", "statutory_gateway": "children_act_1989_s47",
            "consent_state": "not_sought", "consent_reason": "risk_of_significant_harm",
            "rag": "red"}
    out = [AuditEvent(kind=EventKind.LOOKUP_REQUESTED, subject_pseudonyms=("a" * 32, "b" * 32),
                      **base)]
    for a in AGENCIES:
        out.append(AuditEvent(kind=EventKind.POLICY_DECISION, agency=a, decision="PERMIT",
                              reasons=("consent_permits",), agreement_id=f"dsa-{a}",
                              agreement_version="c" * 64, **base))
        out.append(AuditEvent(kind=EventKind.QUERY_SENT, agency=a, query_id=f"Q-{n}-{a}",
                              query_hash="d" * 64, **base))
    for a in AGENCIES:
        out.append(AuditEvent(kind=EventKind.DISCLOSURE_VERIFIED, agency=a, query_id=f"Q-{n}-{a}",
                              disclosure_hash="e" * 64, signer_key_id="f" * 16,
                              latency_ms=12.5, **base))
    out.append(AuditEvent(kind=EventKind.LOOKUP_COMPLETED, outcome="completed", **base))
    return out


async def run(lookups: int, concurrency: int,
              write: Callable[[list[AuditEvent]], Awaitable[object]]) -> tuple[float, float]:
    """(lookups/s, CPU µs per lookup) for `write` applied to each lookup's events."""
    events = [lookup_events(n) for n in range(lookups)]
    queue: asyncio.Queue[list[AuditEvent]] = asyncio.Queue()
    for e in events:
        queue.put_nowait(e)

    async def worker() -> None:
        while not queue.empty():
            await write(queue.get_nowait())

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return lookups / wall, cpu / lookups * 1e6


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(prog="mash bench audit-asyncio", description=__doc__)
    ap.add_argument("--lookups", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args(argv)
    configure(stream=sys.stderr, level="warning")
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parent) as tmp:
        async def nothing(events: list[AuditEvent]) -> None:
            await asyncio.sleep(0)

        results["baseline"] = asyncio.run(run(args.lookups, args.concurrency, nothing))
        with AuditLog.open(Path(tmp) / "per-event.sqlite", owner="broker") as log:
            async def per_event(events: list[AuditEvent]) -> None:
                await asyncio.gather(*(asyncio.wrap_future(log.submit(e)) for e in events))

            results["per_event"] = asyncio.run(run(args.lookups, args.concurrency, per_event))
        with AuditLog.open(Path(tmp) / "grouped.sqlite", owner="broker") as log:
            async def grouped(events: list[AuditEvent]) -> None:
                await asyncio.wrap_future(log.submit_many(events))

            results["grouped"] = asyncio.run(run(args.lookups, args.concurrency, grouped))
    for name, (rate, cpu) in results.items():
        print(f"{name:<10} {rate:10,.0f} lookups/s  {cpu:8,.0f} µs CPU per lookup (14 entries)")
    print(json.dumps({k: {"lookups_per_s": v[0], "cpu_us_per_lookup": v[1]}
                      for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
