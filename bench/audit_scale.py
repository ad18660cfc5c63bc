"""Benchmark: verify a 1,000,000-entry log, and search it for one person.

    .venv/bin/python bench/audit_scale.py [--entries 1000000] [--file PATH]

Builds the log once (pipelined, group-committed appends with signed checkpoints
every 1,000 entries; the file is kept for re-runs under bench/results/), then times
`verify_log` (chain, content hashes, Merkle roots, checkpoint signatures, person
index) and `search` for one person (pseudonym index) over all logs. Targets:
verify < 10 s, search < 100 ms. Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.checkpoints import create_private_key, load_private_key  # noqa: E402
from audit.events import AuditEvent, EventKind  # noqa: E402
from audit.log import AuditLog, verify_log  # noqa: E402
from audit.pseudonyms import Pseudonymiser  # noqa: E402
from audit.query import SearchFilter, search_paths  # noqa: E402
from audit.store import SqliteAuditStore  # noqa: E402
from mash.logs import configure  # noqa: E402

KINDS = (EventKind.LOOKUP_REQUESTED, EventKind.POLICY_DECISION, EventKind.QUERY_SENT,
         EventKind.DISCLOSURE_VERIFIED, EventKind.LOOKUP_COMPLETED)
AGENCIES = ("police", "health", "education", "housing")


def build(path: Path, key: Ed25519PrivateKey, entries: int, pz: Pseudonymiser) -> float:
    """Write `entries` realistic events; the seconds it took."""
    start = time.perf_counter()
    with AuditLog.open(path, owner="broker", checkpoint_key=key, checkpoint_every=1000,
                       max_batch=4096) as log:
        pending = []
        for i in range(entries):
            lookup = i // 5
            kind = KINDS[i % 5]
            person = lookup % 100_000  # 100,000 different people, each in ~2 lookups
            subjects = (pz.nhs_number(f"{person:010d}") or "",) \
                if kind is EventKind.LOOKUP_REQUESTED else ()
            pending.append(log.submit(AuditEvent(
                kind=kind, actor_id=f"sw-{lookup % 300}", actor_role="mash_social_worker",
                actor_org="la-northshire", referral_id=f"REF-{lookup}", lookup_id=f"LK-{lookup}",
                agency=AGENCIES[i % 4], purpose="child_protection_enquiry", rag="red",
                consent_state="not_sought", decision="PERMIT", subject_pseudonyms=subjects)))
            if len(pending) >= 20_000:
                for f in pending:
                    f.result()
                pending.clear()
        for f in pending:
            f.result()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(prog="mash bench audit-scale", description=__doc__)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--file", type=Path, default=None)
    args = ap.parse_args(argv)
    configure(stream=sys.stderr, level="warning")
    results = Path(__file__).resolve().parent / "results"
    path = args.file or results / f"audit-{args.entries}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    key_path = path.with_suffix(".key")
    pz = Pseudonymiser.load_or_create(path.with_suffix(".pseudonym-key"))
    build_s = None
    if not path.exists():
        key = create_private_key(key_path) if not key_path.exists() else load_private_key(
            key_path)
        build_s = build(path, key, args.entries, pz)
        print(f"built {args.entries:,} entries in {build_s:.1f} s "
              f"({args.entries / build_s:,.0f} appends/s, pipelined)")
    key = load_private_key(key_path)

    t, cpu = time.perf_counter(), time.process_time()
    report = verify_log(path, checkpoint_public_key=key.public_key())
    verify_s, verify_cpu_s = time.perf_counter() - t, time.process_time() - cpu
    assert report.ok, report.problem
    # CPU time too: on this shared 2-core machine wall time mostly measures the neighbours.
    print(f"verify_log: {report.entries:,} entries, {report.checkpoints} signed checkpoints "
          f"in {verify_s:.2f} s wall, {verify_cpu_s:.2f} s CPU (target < 10 s)")

    who = pz.nhs_number(f"{4242:010d}") or ""
    times = []
    found = 0
    for _ in range(7):
        t = time.perf_counter()
        found = len(search_paths([path], SearchFilter(pseudonyms=(who,))))
        times.append((time.perf_counter() - t) * 1000)
    search_ms = statistics.median(times)
    # Baseline in the same run: the same question without the pseudonym index (full scan).
    t = time.perf_counter()
    with SqliteAuditStore.open_readonly(path) as store:
        store_scan = store.conn.execute("SELECT count(*) FROM entries WHERE personal LIKE ?",
                                        (f"%{who}%",)).fetchone()[0]
    scan_ms = (time.perf_counter() - t) * 1000
    print(f"search one person: {found} entries in {search_ms:.1f} ms median of 7 "
          f"(target < 100 ms); baseline without the index (full scan): {scan_ms:.0f} ms "
          f"({store_scan} hits)")
    print(json.dumps({"entries": report.entries, "build_s": build_s, "verify_s": verify_s,
                      "verify_cpu_s": verify_cpu_s,
                      "search_person_ms": search_ms, "search_scan_baseline_ms": scan_ms}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
