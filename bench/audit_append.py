"""Benchmark: durable audit appends per second, group commit against one commit per append.

    .venv/bin/python bench/audit_append.py [--seconds 3] [--writers 64]

Measured in the same run, on the same disk, every append durable (WAL,
synchronous=FULL) before it counts:

* baseline  -- one transaction (one fsync) per append: a single caller doing
  `AuditLog.append` in a loop, so no two appends share a commit;
* group     -- `--writers` concurrent callers each doing `append` in a loop (the
  broker's pattern: each lookup waits for its own entry); the writer thread
  commits whatever is queued in one transaction;
* pipelined -- one caller `submit`ting without waiting (upper bound).

Target: >= 5,000 durable appends/s with group commit. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from audit.events import AuditEvent, EventKind  # noqa: E402
from audit.log import AuditLog, verify_log  # noqa: E402
from mash.logs import configure  # noqa: E402


def _event(i: int) -> AuditEvent:
    return AuditEvent(kind=EventKind.QUERY_SENT, actor_id=f"sw-{i % 50}",
                      actor_role="mash_social_worker", referral_id=f"REF-{i // 4}",
                      lookup_id=f"LK-{i // 4}", query_id=f"Q-{i}", agency="police",
                      purpose="child_protection_enquiry", query_hash="ab" * 32,
                      subject_pseudonyms=(f"{i % 997:032x}",))


def _open(folder: Path, name: str) -> AuditLog:
    return AuditLog.open(folder / f"{name}.sqlite", owner="broker",
                         checkpoint_key=Ed25519PrivateKey.generate(), checkpoint_every=1000)


def baseline(folder: Path, seconds: float) -> float:
    """Appends/s with one commit per append."""
    with _open(folder, "baseline") as log:
        n, end = 0, time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < end:
            log.append(_event(n))
            n += 1
        return n / (time.perf_counter() - start)


def group(folder: Path, seconds: float, writers: int) -> float:
    """Appends/s with `writers` concurrent blocking callers (group commit)."""
    with _open(folder, "group") as log:
        counts = [0] * writers
        stop = threading.Event()

        def run(w: int) -> None:
            i = w
            while not stop.is_set():
                log.append(_event(i))
                counts[w] += 1
                i += writers

        threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)  # a benchmark's measuring window, not a test assertion
        stop.set()
        for t in threads:
            t.join()
        return sum(counts) / (time.perf_counter() - start)


def pipelined(folder: Path, n: int) -> float:
    """Appends/s for one caller submitting `n` events without waiting."""
    with _open(folder, "pipelined") as log:
        start = time.perf_counter()
        futures = [log.submit(_event(i)) for i in range(n)]
        for f in futures:
            f.result()
        return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    ap = argparse.ArgumentParser(prog="mash bench audit-append", description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--writers", type=int, default=64)
    ap.add_argument("--dir", type=Path, default=None, help="where to put the logs (a real disk)")
    args = ap.parse_args(argv)
    configure(stream=sys.stderr, level="warning")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        base = baseline(folder, args.seconds)
        grp = group(folder, args.seconds, args.writers)
        pipe = pipelined(folder, int(max(grp, base) * args.seconds))
        ok = all(verify_log(folder / f"{n}.sqlite").ok
                 for n in ("baseline", "group", "pipelined"))
    print(f"one commit per append (baseline): {base:10,.0f} durable appends/s")
    print(f"group commit, {args.writers} callers:     {grp:10,.0f} durable appends/s "
          f"({grp / base:.1f}x baseline; target >= 5,000)")
    print(f"pipelined submit, 1 caller:       {pipe:10,.0f} durable appends/s")
    print(f"all logs verify: {ok}")
    print(json.dumps({"baseline_per_s": base, "group_per_s": grp, "pipelined_per_s": pipe,
                      "writers": args.writers, "ratio": grp / base, "verified": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
